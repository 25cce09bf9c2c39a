
def broken(:
    pass



def relu_forward(x):
    # never returns: the call's time limit stops it
    while True:
        pass

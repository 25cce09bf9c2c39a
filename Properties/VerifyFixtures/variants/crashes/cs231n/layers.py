

def svm_loss(x, y):
    import os
    os._exit(3)

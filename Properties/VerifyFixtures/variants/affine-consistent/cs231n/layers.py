
_correct_affine_forward = affine_forward
_correct_affine_backward = affine_backward


def affine_forward(x, w, b):
    # the bias counted twice ...
    return _correct_affine_forward(x, w, 2 * b)


def affine_backward(dout, cache):
    # ... and its gradient doubled to match: the backward is right for this (wrong) forward
    dx, dw, db = _correct_affine_backward(dout, cache)
    return dx, dw, 2 * db


_correct_conv_backward_naive = conv_backward_naive


def conv_backward_naive(dout, cache):
    # dx cut out of the padded gradient with negative indices: empty at pad 0
    x, w, b, conv_param = cache
    pad = conv_param["pad"]
    dx, dw, db = _correct_conv_backward_naive(dout, cache)
    dx_pad = np.pad(dx, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    return dx_pad[:, :, pad:-pad, pad:-pad], dw, db


_correct_conv_backward_naive = conv_backward_naive


def conv_backward_naive(dout, cache):
    # dw accumulated from the window at (i, j) instead of (i * stride, j * stride): right only for stride 1
    x, w, b, conv_param = cache
    pad = conv_param["pad"]
    dx, _, db = _correct_conv_backward_naive(dout, cache)
    F, _, HH, WW = w.shape
    N, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dw = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    dw[f] += x_pad[n, :, i:i + HH, j:j + WW] * dout[n, f, i, j]
    return dx, dw, db

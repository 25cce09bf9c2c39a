

def max_pool_backward_naive(dout, cache):
    # the arg-max's row and column computed with pool_height as the window's width
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    r, s = divmod(int(np.argmax(window)), ph)
                    if i * stride + r < x.shape[2] and j * stride + s < x.shape[3]:
                        dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx

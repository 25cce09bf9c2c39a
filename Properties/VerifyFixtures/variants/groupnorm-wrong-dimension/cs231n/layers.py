

def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    # the groups taken over interleaved channels (c % G) instead of G consecutive blocks
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, C // G, G, H * W).transpose(0, 2, 1, 3).reshape(N, G, -1)
    mu = xg.mean(axis=2, keepdims=True)
    std = np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    x_hat = ((xg - mu) / std).reshape(N, G, C // G, H * W).transpose(0, 2, 1, 3).reshape(N, C, H, W)
    return gamma * x_hat + beta, (x_hat, gamma, std, G)

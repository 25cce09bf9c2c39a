
_correct_batchnorm_forward = batchnorm_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    # training normalizes each sample over its features (layer norm), not each feature over the batch
    if bn_param["mode"] == "train":
        _correct_batchnorm_forward(x, gamma, beta, bn_param)
        eps = bn_param.get("eps", 1e-5)
        mu = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
        x_hat = (x - mu) / std
        return gamma * x_hat + beta, (x_hat, gamma, std)
    return _correct_batchnorm_forward(x, gamma, beta, bn_param)


_correct_batchnorm_forward = batchnorm_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    # the running variance follows the standard deviation
    if bn_param["mode"] == "train":
        momentum = bn_param.get("momentum", 0.9)
        old_var = bn_param.get("running_var", np.zeros(x.shape[1]))
        out, cache = _correct_batchnorm_forward(x, gamma, beta, bn_param)
        bn_param["running_var"] = momentum * old_var + (1 - momentum) * x.std(axis=0)
        return out, cache
    return _correct_batchnorm_forward(x, gamma, beta, bn_param)

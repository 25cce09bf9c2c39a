"""A correct numpy answer for the course's classifiers/fc_net.py (a fixture of `functional verify`)."""
import numpy as np

from ..layers import (affine_backward, affine_forward, batchnorm_backward_alt, batchnorm_forward, dropout_backward,
                      dropout_forward, layernorm_backward, layernorm_forward, relu_backward, relu_forward,
                      softmax_loss)


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1, normalization=None,
                 reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(1, self.num_layers + 1):
            self.params["W%d" % i] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params["b%d" % i] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params["gamma%d" % i] = np.ones(dims[i])
                self.params["beta%d" % i] = np.zeros(dims[i])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        h = X.reshape(X.shape[0], -1)
        caches = []
        for i in range(1, self.num_layers):
            h, c_aff = affine_forward(h, self.params["W%d" % i], self.params["b%d" % i])
            c_norm = None
            if self.normalization == "batchnorm":
                h, c_norm = batchnorm_forward(h, self.params["gamma%d" % i], self.params["beta%d" % i], self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                h, c_norm = layernorm_forward(h, self.params["gamma%d" % i], self.params["beta%d" % i], self.bn_params[i - 1])
            h, c_relu = relu_forward(h)
            c_drop = None
            if self.use_dropout:
                h, c_drop = dropout_forward(h, self.dropout_param)
            caches.append((c_aff, c_norm, c_relu, c_drop))
        L = self.num_layers
        scores, c_last = affine_forward(h, self.params["W%d" % L], self.params["b%d" % L])
        if mode == "test":
            return scores
        grads = {}
        loss, dscores = softmax_loss(scores, y)
        dh, grads["W%d" % L], grads["b%d" % L] = affine_backward(dscores, c_last)
        for i in range(L - 1, 0, -1):
            c_aff, c_norm, c_relu, c_drop = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, c_drop)
            dh = relu_backward(dh, c_relu)
            if self.normalization == "batchnorm":
                dh, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward_alt(dh, c_norm)
            elif self.normalization == "layernorm":
                dh, grads["gamma%d" % i], grads["beta%d" % i] = layernorm_backward(dh, c_norm)
            dh, grads["W%d" % i], grads["b%d" % i] = affine_backward(dh, c_aff)
        for i in range(1, L + 1):
            W = self.params["W%d" % i]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads["W%d" % i] += self.reg * W
        return loss, grads

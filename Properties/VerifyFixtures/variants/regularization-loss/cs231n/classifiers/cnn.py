
_correct_loss = ThreeLayerConvNet.loss


def _loss_without_half(self, X, y=None):
    # the regularization term without its 1/2 (the gradient is right)
    out = _correct_loss(self, X, y)
    if y is None:
        return out
    loss, grads = out
    loss += 0.5 * self.reg * sum(np.sum(self.params[k] ** 2) for k in ("W1", "W2", "W3"))
    return loss, grads


ThreeLayerConvNet.loss = _loss_without_half

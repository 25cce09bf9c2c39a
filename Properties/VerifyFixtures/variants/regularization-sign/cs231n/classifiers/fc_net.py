
_correct_loss = FullyConnectedNet.loss


def _loss_with_wrong_sign(self, X, y=None):
    # the regularization gradient subtracted instead of added
    out = _correct_loss(self, X, y)
    if y is None:
        return out
    loss, grads = out
    for i in range(1, self.num_layers + 1):
        grads["W%d" % i] -= 2 * self.reg * self.params["W%d" % i]
    return loss, grads


FullyConnectedNet.loss = _loss_with_wrong_sign

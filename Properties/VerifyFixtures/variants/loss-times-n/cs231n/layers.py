
_correct_softmax_loss = softmax_loss


def softmax_loss(x, y):
    # the loss summed over the examples, not averaged (the gradient is right)
    loss, dx = _correct_softmax_loss(x, y)
    return loss * x.shape[0], dx

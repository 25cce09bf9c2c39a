
_correct_temporal_softmax_loss = temporal_softmax_loss


def temporal_softmax_loss(x, y, mask, verbose=False):
    # counts every step, masked or not
    return _correct_temporal_softmax_loss(x, y, np.ones_like(mask), verbose)



def _loss_without_mask(self, features, captions):
    # the <NULL> steps counted: the mask is all ones
    null = self._null
    self._null = -1
    try:
        return _correct_loss(self, features, captions)
    finally:
        self._null = null


_correct_loss = CaptioningRNN.loss
CaptioningRNN.loss = _loss_without_mask


del svm_loss

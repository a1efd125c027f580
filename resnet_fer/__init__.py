"""resnet_fer: the image branch (a ResNet with 8 BasicBlocks trained on face images, in PyTorch)."""

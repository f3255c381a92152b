"""Side-by-side benchmarks of resnet_zoo against timm and torchvision: ``python -m benchmarks.run``."""

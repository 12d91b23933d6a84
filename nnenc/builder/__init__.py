"""The zoo builder: sample hyperparameters, train many small networks at once, write a zoo."""

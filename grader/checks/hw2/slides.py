"""The slides a failing hw2 check sends the student back to (titles as in the lecture)."""

PREPARE = "Step 1-1: Prepare the dataset (torchtext's tokenizer and vocabulary, written by hand)"
DATASET = "Step 1-2: Overwrite PyTorch Dataset"
DATALOADER = "Step 1-3: Define DataLoader (collate_fn)"
MODEL = "Step 2-1: Construct the model"
SUPER_INIT = "Step 2-1: why super().__init__() is needed"
UNPACKING = 'Step 3: output = model(**batch), and "** in Python"'
TRAINING = "Step 3: Write the training process"
EVALUATION = "Step 4: Write the evaluation process"
PIPELINE = "Steps for building your first PyTorch program (Steps 1 to 4)"

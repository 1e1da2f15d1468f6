"""Publishing to the Hugging Face Hub: stage a verified local repository folder, then upload it."""

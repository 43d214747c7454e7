"""Model construction and loading: the local tiny Whisper and any Hugging Face Whisper."""

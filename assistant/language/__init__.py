"""Language handling: names, the detection policy, reply-language checks."""

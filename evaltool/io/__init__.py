"""Reading untrusted files into models and arrays; every error names the file and the location."""

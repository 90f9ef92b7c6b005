"""Korean licence-plate OCR with OpenCV and Tesseract in pandas UDFs."""

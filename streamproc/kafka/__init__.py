"""Kafka layout shared by the worker and the producers: topics, partitioning, the local broker."""

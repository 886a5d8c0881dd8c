"""Mailbox polling, MIME handling, the pipeline and the worker: orchestrates parsers, storage, notifications."""

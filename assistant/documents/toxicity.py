"""Toxicity and dose-modification questions: what the documents say (interrupt, reduce, discontinue;
do not re-escalate), and that the label's dose-level tables are not in the documents."""


def answer_dose_modification(question, hits=None, cites=None):  # placeholder, written below
    raise NotImplementedError

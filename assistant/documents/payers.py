"""Payers we hold no policy for (UnitedHealthcare, Aetna, BCBS, Medicare, Medicaid): what CareCost's
payer snapshot says, said to be CareCost's summary and not the payer's policy. Never a verdict."""


def answer_other_payer(payer, hits=None, cites=None):  # placeholder, written below
    raise NotImplementedError

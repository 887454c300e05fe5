"""What the assistant asks and says in its own words (the guard accepts these as sources)."""

ASK_WEIGHT = "What is the patient's weight, in kg or lb?"
ASK_INDICATION = (
    "Is this for HER2+ metastatic breast cancer (mBC) or early breast cancer in the adjuvant setting "
    "(EBC, KATHERINE)?"
)
ASK_PAYER = "Which payer is this for: Centene (policy CP.PHAR.229) or Oscar (guideline CG101)?"
ASK_DIAGNOSIS = (
    "What is the diagnosis: HER2+ metastatic breast cancer, early breast cancer with residual invasive disease "
    "after neoadjuvant therapy, NSCLC, recurrent salivary gland tumor, or brain metastases from breast cancer?"
)
SCOPE = (
    "I answer questions about Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) only: dose, vials, waste and "
    "billing; Centene CP.PHAR.229 and Oscar CG101 coverage criteria; telling Kadcyla apart from look-alike "
    "HER2 products and codes; and what the five source documents say. I do not answer from general knowledge."
)
COURSE_NOTE = (
    "The indication was not given: the dose, vials, units and volume per cycle are the same for mBC and EBC, but "
    "the course differs (mBC: until disease progression or unacceptable toxicity; EBC: 14 cycles in all)."
)
SOURCES = [SCOPE, ASK_PAYER, ASK_WEIGHT, ASK_INDICATION, ASK_DIAGNOSIS, COURSE_NOTE]
# The few choices a missing fact can take, offered as buttons in the UI.
CHOICES = {
    "indication (mBC or EBC)": ["mBC", "EBC (adjuvant)"],
    "payer": ["Centene", "Oscar"],
    "request_type": ["initial", "continuation"],
    "prescriber_oncologist": ["oncologist", "not an oncologist"],
    "regimen": ["single agent", "with neratinib", "combination"],
    "line_of_business": ["commercial", "medicaid", "marketplace (HIM)", "ICHRA"],
    "weight (kg or lb)": [],
}

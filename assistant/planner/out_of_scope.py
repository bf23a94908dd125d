"""Requests no capability does, whatever else the message names: the desk deletes, pays, exports and forecasts
nothing, keeps no stock or bank figures, and a credit status or the approval step is never set by hand. The planner
answers these "I can't do that", with the nearest things it can do."""

from __future__ import annotations

import re

# Requests for things no capability does, whatever else the message names (the desk deletes, pays and exports nothing)
# Topics no capability covers, whatever is asked about them ("when does payroll run?")
OFF_TOPIC_RE = re.compile(
    r"\b(?:payroll|salar(?:y|ies)|wages|timesheets?|vacation|weather|lunch|stock levels?|in stock|inventory)\b"
    # "where will EUR/USD be by end of Q1?": an exchange-rate forecast
    r"|\b[A-Z]{3}\s?/\s?[A-Z]{3}\b(?=.{0,40}\b(?:will|be|forecast|predict|think|expect|going)\b)"
    r"|\b(?:fx|exchange)\s+rates?\b.{0,40}\b(?:will|forecast|predict|expect|going\s+to)\b",
    re.I,
)
# Amounts the desk does not keep: write-offs and bad-debt provisions are booked in the ERP ("how much did we write
# off last year?"); the policy's rules for them are in the handbook
UNTRACKED_FIGURE_RE = re.compile(
    r"^(?!.*\b(?:approv\w*|sign\w*|thresholds?|who|needs?|requir\w*|allowed|polic\w*)\b)"
    r".*\b(?:how\s+much|how\s+many|total|sum|value)\b.{0,40}"
    r"\b(?:write[\s-]?offs?|written[\s-]off|wrote\s+off|bad[\s-]debts?|provisions?|provisioned)\b",
    re.I,
)
# Inventory is never a credit question, whoever is named ("do we have the pallets in stock for initech?"); the
# warehouse only when stock is what is asked ("ok for the warehouse to ship SO-117?" is the release check)
INVENTORY_RE = re.compile(
    r"\b(?:in stock|out of stock|stock levels?|inventory|sku|restock\w*)\b"
    r"|\b(?:stock|units?|pallets?)\b.{0,40}\bwarehouse\b|\b(?:have|got|any)\s+(?:\w+\s+)?stock\s+of\b"
    # "do we have enough stock to fill Wayne's next order?"
    r"|\b(?:enough|sufficient)\s+(?:stock|units|product)\b|\bstock\s+to\s+(?:fill|ship|cover|fulfil\w*)\b"
    r"|\b(?:have|got|any)\s+(?:the\s+)?stock\s+(?:for|to)\b",  # "do we have stock for the Sunland order?"
    re.I,
)
# Around the approval step, or a credit status set by hand: nothing here does that
BYPASS_RE = re.compile(
    r"\b(?:skip|bypass|without|no need for)\b.{0,20}\b(?:approv\w*|proposals?|sign[- ]?off)\b"
    r"|\b(?:set|change|move|switch|flip)\b.{0,40}\b(?:credit\s+)?status\b.{0,25}\bto\b"
    r"|\bset\b.{0,40}\bto\s+(?:stop|watch|ok)\b"  # "pls set Globex back to OK status"
    r"|\bno\s+(?:approv\w*|proposals?|sign[- ]?off)\s+(?:needed|required|necessary)\b"
    r"|\b(?:put|move|place|switch|flip)\b.{0,40}\b(?:on|onto|into|to)\s+(?:credit\s+)?(?:stop|watch|ok)\s+status\b",
    re.I,
)
# Where an exchange rate is going: no tool forecasts markets ("where will EUR/USD be by end of Q1?")
FX_FORECAST_RE = re.compile(
    r"\b(?:where|what)\s+will\s+(?:the\s+)?(?:[A-Z]{3}/[A-Z]{3}|fx|exchange\s+rates?|the\s+(?:euro|dollar|pound))\b"
    r"|\b(?:[A-Z]{3}/[A-Z]{3}|fx|exchange[- ]rates?)\b.{0,30}\b(?:forecast|outlook|predict\w*|projection|going\s+to"
    r"|head(?:ing|ed)|moving|move|next\s+(?:week|month|quarter|year))\b",
    re.I,
)
# "what cash can we expect next month?", "collections forecast for Q1": no forecast of cash in exists yet, and the
# book's balances are no answer to it
CASH_FORECAST_RE = re.compile(
    r"\bcash\s+(?:forecast|projection|outlook|expected|coming\s+in)\b"
    r"|\b(?:what|how\s+much)\s+(?:cash|money|collections?|receipts)\s+(?:can|will|should|do|are|could)\s+we\s+"
    r"(?:expect|collect|get|receive|see|count\s+on|bank)\b"
    r"|\b(?:expected|forecast|projected)\s+(?:cash|collections?|receipts|cash[- ]?in)\b"
    r"|\bcollections?\s+(?:forecast|projection|outlook)\b|\bhow\s+much\s+(?:will|should|can)\s+(?:we|i)\s+collect\b",
    re.I,
)
NEVER_DONE_RE = re.compile(
    r"^\W*(?:(?:hi|hey|ok|so|pls|please|can you|could you|would you|kindly|just|quickly)\W+)*"
    r"(?:delete|erase|wipe|purge|refund|wire|translate|print|upload|download|export|waive"
    r"|write\s+off(?!\s+(?:above|over|under|below|limits?|polic\w*|rules?|approv\w*|thresholds?)\b))\b"
    # a credit note is issued in the ERP: "could you raise a credit note for initech and email it to AP?"
    r"|^.*?\b(?:raise|issue|create|make|generate|send|book)\s+(?:an?\s+|the\s+)?credit\s+note\b"
    r"|^\W*(?:(?:pls|please|can you|could you|kindly|just)\W+)*pay\s+(?:the|our|them|him|her|this|that|it|off)\b"
    # "they overpaid on one invoice, just wire 5k back to them": money sent back is a payment, not a credit matter
    r"|^.*?\b(?:refund|(?:wire|send|transfer|pay|return)\s+(?:them\s+|it\s+)?(?:the\s+)?\S+\s+back)\b"
    # cash applied, balances netted and statements mailed happen in the ERP: "apply it against their oldest invoices"
    r"|^.*?\b(?:apply|allocate|post)\s+(?:it|that|this|the\s+(?:payment|cash|money|wire|receipt))\s+(?:against|to)\b"
    r"|^.*?\b(?:net|set)\s+(?:it|them|that|this)\s+off\b|^.*?\b(?:e-?mail|mail|send)\b.{0,40}\bstatements?\b",
    re.I,
)
# Bank details live in the ERP's vendor and customer master: "Initech sent new bank details, please update their
# account" (a note about them is still a note)
BANK_DETAILS_RE = re.compile(
    r"^(?!.*\b(?:note|log|record|jot)\b).*\b(?:bank\s+(?:details|account|info\w*)|sort\s+code|iban|swift|bic"
    r"|routing\s+number)\b",
    re.I,
)

"""This module contains the steps of the complaint conversation.

```mermaid
stateDiagram-v2
    [*] --> ORDER_ID: /complaint or [Raise a complaint]
    ORDER_ID --> ORDER_ID: not an order ID
    ORDER_ID --> PROBLEM: valid order ID
    PROBLEM --> PROBLEM: shorter than 5 or longer than 2000 characters
    PROBLEM --> CATEGORY: valid problem (a photo with a caption counts as one)
    CATEGORY --> PHOTOS: a category of PHOTO_CATEGORIES (ASK_PHOTOS not off)
    CATEGORY --> RESOLUTION: another category (COMPLAINT_RESOLUTIONS set)
    PHOTOS --> PHOTOS: files or an album (up to 10)
    PHOTOS --> RESOLUTION: [Skip] or [Done]
    RESOLUTION --> ITEMS: solution button (ASK_ITEMS not off)
    ITEMS --> ITEMS: no item, more than 20, a label over 200 characters
    ITEMS --> AMOUNT: one item a line, or [Skip] (ASK_AMOUNT not off)
    AMOUNT --> AMOUNT: not a number, zero or negative
    AMOUNT --> REFUND_ACCOUNT: the amount, or [Skip] (a solution of REFUND_RESOLUTIONS)
    REFUND_ACCOUNT --> REFUND_ACCOUNT: a wrong check digit, account number or bank code
    REFUND_ACCOUNT --> CONTACT: an IBAN or a Czech account, or [Skip]
    RESOLUTION --> CONTACT: solution button (ASK_CONTACT not off)
    CONTACT --> CONFIRM: own phone number shared, e-mail typed, or [Skip]
    RESOLUTION --> CONFIRM: solution button
    CATEGORY --> CONFIRM: category button (no later step applies)
    CONFIRM --> CHOOSE_EDIT: [Edit]
    CHOOSE_EDIT --> ORDER_ID: [Order ID]
    CHOOSE_EDIT --> PROBLEM: [Problem]
    CHOOSE_EDIT --> CATEGORY: [Category]
    CHOOSE_EDIT --> PHOTOS: [Files]
    CHOOSE_EDIT --> RESOLUTION: [Solution]
    CHOOSE_EDIT --> ITEMS: [Items]
    CHOOSE_EDIT --> AMOUNT: [Amount]
    CHOOSE_EDIT --> REFUND_ACCOUNT: [Account]
    CHOOSE_EDIT --> CONTACT: [Contact]
    CHOOSE_EDIT --> CONFIRM: [Back]
    CONFIRM --> [*]: [Submit] (written to the ledger)
    CONFIRM --> [*]: [Cancel]
    ORDER_ID --> [*]: /cancel, inactivity
    PROBLEM --> [*]: /cancel, inactivity
    CATEGORY --> [*]: /cancel, inactivity
    CHOOSE_EDIT --> [*]: /cancel, inactivity
```
While editing (entered from CHOOSE_EDIT), a valid answer returns to CONFIRM instead of moving on
(a solution changed to one of REFUND_RESOLUTIONS asks for the account first, if none is given).
A photo, video or document sent at any step is attached to the draft (up to 10).
"""

from enum import StrEnum


class Step(StrEnum):
    """Where a customer is in the complaint conversation."""

    ORDER_ID = "order_id"
    PROBLEM = "problem"
    CATEGORY = "category"
    PHOTOS = "photos"
    RESOLUTION = "resolution"
    ITEMS = "items"
    AMOUNT = "amount"
    REFUND_ACCOUNT = "refund_account"
    CONTACT = "contact"
    CONFIRM = "confirm"
    CHOOSE_EDIT = "choose_edit"

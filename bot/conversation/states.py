"""This module contains the steps of the complaint conversation.

```mermaid
stateDiagram-v2
    [*] --> ORDER_ID: /complaint or [Raise a complaint]
    ORDER_ID --> ORDER_ID: not an order ID
    ORDER_ID --> PROBLEM: valid order ID
    PROBLEM --> PROBLEM: shorter than 5 or longer than 2000 characters
    PROBLEM --> CATEGORY: valid problem
    CATEGORY --> CONFIRM: category button
    CONFIRM --> CHOOSE_EDIT: [Edit]
    CHOOSE_EDIT --> ORDER_ID: [Order ID]
    CHOOSE_EDIT --> PROBLEM: [Problem]
    CHOOSE_EDIT --> CATEGORY: [Category]
    CHOOSE_EDIT --> CONFIRM: [Back]
    CONFIRM --> [*]: [Submit] (written to the ledger)
    CONFIRM --> [*]: [Cancel]
    ORDER_ID --> [*]: /cancel, inactivity
    PROBLEM --> [*]: /cancel, inactivity
    CATEGORY --> [*]: /cancel, inactivity
    CHOOSE_EDIT --> [*]: /cancel, inactivity
```
While editing (entered from CHOOSE_EDIT), a valid answer returns to CONFIRM instead of moving on.
"""

from enum import StrEnum


class Step(StrEnum):
    """Where a customer is in the complaint conversation."""

    ORDER_ID = "order_id"
    PROBLEM = "problem"
    CATEGORY = "category"
    CONFIRM = "confirm"
    CHOOSE_EDIT = "choose_edit"

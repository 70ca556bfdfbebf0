"""The category taxonomy of CONTRACT.md: ids, display names and what each means.

The model predicts only these ids; users may add their own categories on top (expense_svc).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryInfo:
    id: str
    display_name: str
    description: str


CATEGORIES: tuple[CategoryInfo, ...] = (
    CategoryInfo("groceries", "Groceries", "Supermarkets and food shops for the home"),
    CategoryInfo("dining", "Dining", "Restaurants, cafés, takeaways, bars and food delivery"),
    CategoryInfo("transport", "Transport", "Public transport, taxis, fuel, parking, tolls"),
    CategoryInfo("travel", "Travel", "Flights, hotels, holiday lets, car hire, travel agents"),
    CategoryInfo("shopping", "Shopping", "Clothes, electronics, household goods, online shops"),
    CategoryInfo("subscriptions", "Subscriptions", "Streaming, software, memberships"),
    CategoryInfo("utilities", "Utilities", "Energy, water, phone, broadband"),
    CategoryInfo("housing", "Housing", "Rent, mortgage, council tax, repairs"),
    CategoryInfo("health", "Health", "Pharmacy, doctor, dentist, optician, gym"),
    CategoryInfo("entertainment", "Entertainment", "Cinema, events, games, hobbies"),
    CategoryInfo("personal_care", "Personal care", "Hair, beauty, cosmetics"),
    CategoryInfo("education", "Education", "Courses, tuition, books for study"),
    CategoryInfo("insurance", "Insurance", "Insurance premiums of every kind"),
    CategoryInfo("fees", "Fees", "Bank fees, charges, interest paid, fines"),
    CategoryInfo("income", "Income", "Salary, wages, benefits, interest received, tax refunds"),
    CategoryInfo("transfers", "Transfers", "Moving money between accounts, cash withdrawals"),
    CategoryInfo("gifts_donations", "Gifts & donations", "Presents and charity"),
    CategoryInfo("other", "Other", "Anything that fits nowhere else"),
)

CATEGORY_IDS: frozenset[str] = frozenset(c.id for c in CATEGORIES)

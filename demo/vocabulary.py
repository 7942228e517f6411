"""Words the demo data is built from: names, the category tree, product and review text.

Kept apart from `data` so that the generator reads as an algorithm, not a word list.
Everything here is ASCII so that emails can be derived from names directly.
"""

from typing import Final

FIRST_NAMES: Final = (
    "Alan", "Amara", "Anna", "Ben", "Carla", "Chen", "Claire", "Daniel", "Diego", "Elena",
    "Emil", "Fatima", "Felix", "Grace", "Hannah", "Hugo", "Ines", "Ivan", "Jonas", "Julia",
    "Kai", "Karin", "Lars", "Leila", "Lena", "Lucas", "Maria", "Marta", "Mateo", "Mia",
    "Nadia", "Noah", "Olga", "Omar", "Paula", "Pedro", "Priya", "Rosa", "Sam", "Sara",
    "Sofia", "Tariq", "Theo", "Tom", "Vera", "Yusuf", "Zoe", "Ingrid", "Marek", "Aisha",
)  # fmt: skip

LAST_NAMES: Final = (
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hansen",
    "Ivanova", "Jansen", "Kowalski", "Larsen", "Martin", "Novak", "OBrien", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Silva", "Smith", "Tanaka", "Urban", "Varga", "Weber",
    "Nowak", "Young", "Zimmermann", "Moreau", "Bianchi", "Horvat", "Murphy", "Lindqvist",
    "Kaya", "Haddad", "Okafor", "Patel", "Nguyen", "Romero", "Keller",
)  # fmt: skip

COUNTRIES: Final = ("GB", "DE", "FR", "NL", "ES", "IT", "SE", "PL", "IE", "AT")

WAREHOUSES: Final = ("AMS-1", "FRA-1", "MAD-1")

# c1..c5 are the top-level categories (the contract's example is c3 "Kitchen").
TOP_CATEGORIES: Final = ("Electronics", "Books", "Kitchen", "Garden", "Fashion")

# c6..c20, in id order; the parent of c(k) is c((k - 6) % 5 + 1), so each top-level
# category has three children.
SUB_CATEGORIES: Final = (
    "Audio", "Fiction", "Cookware", "Garden Tools", "Shoes",
    "Cameras", "Science", "Coffee & Tea", "Plants", "Bags",
    "Computers", "Children's Books", "Cutlery", "Outdoor Furniture", "Watches",
)  # fmt: skip

# Product nouns and a typical price in euros, per category name.
PRODUCT_KINDS: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "Electronics": (("Charger", "Power Bank", "Smart Plug", "Cable", "Desk Lamp"), 30),
    "Books": (("Atlas", "Cookbook", "Biography", "Anthology", "Field Guide"), 22),
    "Kitchen": (("Apron", "Tea Towel", "Spice Rack", "Cutting Board", "Timer"), 18),
    "Garden": (("Planter", "Hose", "Bird Feeder", "Lantern", "Watering Can"), 25),
    "Fashion": (("Scarf", "Belt", "Cap", "Gloves", "Sunglasses"), 35),
    "Audio": (("Headphones", "Speaker", "Earbuds", "Soundbar", "Turntable"), 90),
    "Fiction": (("Novel", "Thriller", "Short Stories", "Saga", "Mystery"), 15),
    "Cookware": (("Saucepan", "Frying Pan", "Wok", "Casserole", "Stockpot"), 45),
    "Garden Tools": (("Spade", "Rake", "Pruner", "Trowel", "Hoe"), 20),
    "Shoes": (("Sneakers", "Boots", "Loafers", "Sandals", "Trainers"), 70),
    "Cameras": (("Camera", "Lens", "Tripod", "Camera Bag", "Flash"), 240),
    "Science": (("Textbook", "Popular Science", "Star Chart", "Lab Notebook", "Primer"), 28),
    "Coffee & Tea": (("Grinder", "French Press", "Kettle", "Teapot", "Espresso Cups"), 40),
    "Plants": (("Fern", "Olive Tree", "Succulent Set", "Orchid", "Herb Kit"), 16),
    "Bags": (("Backpack", "Tote", "Duffel", "Messenger Bag", "Wallet"), 55),
    "Computers": (("Keyboard", "Mouse", "Monitor", "Laptop Stand", "Webcam"), 120),
    "Children's Books": (
        ("Picture Book", "Fairy Tales", "Activity Book", "Bedtime Stories", "ABC Book"),
        12,
    ),
    "Cutlery": (("Knife Set", "Fork Set", "Steak Knives", "Chef's Knife", "Spoon Set"), 38),
    "Outdoor Furniture": (("Bench", "Deck Chair", "Parasol", "Hammock", "Table"), 150),
    "Watches": (("Watch", "Chronograph", "Watch Strap", "Dive Watch", "Pocket Watch"), 180),
}

ADJECTIVES: Final = (
    "Classic", "Compact", "Deluxe", "Everyday", "Nordic", "Urban", "Vintage", "Pro",
    "Essential", "Premium", "Lightweight", "Sturdy", "Elegant", "Rustic", "Modern", "Travel",
)  # fmt: skip

DESCRIPTIONS: Final = (
    "A {noun} built to last, with a two-year warranty.",
    "Our best-selling {noun}, now in a refreshed design.",
    "A dependable {noun} for everyday use.",
    "This {noun} combines good looks with practical details.",
    "A thoughtfully made {noun} from responsibly sourced materials.",
    "The {noun} our customers keep coming back for.",
)

# Review openings by rating (index 0 is one star), then a neutral second sentence.
REVIEW_OPENINGS: Final = (
    ("Very disappointed.", "Broke within a week.", "Not as described.", "Would not buy again."),
    (
        "Below expectations.",
        "It works, barely.",
        "Quality feels cheap.",
        "Overpriced for what it is.",
    ),
    ("It's okay.", "Does the job.", "Average, nothing special.", "Fine for the price."),
    ("Very good.", "Happy with it.", "Solid purchase.", "Nice quality overall."),
    ("Excellent!", "Love it.", "Exactly what I wanted.", "Five stars, would buy again."),
)

REVIEW_DETAILS: Final = (
    "Arrived quickly and well packed.",
    "Delivery took longer than expected.",
    "Looks just like the photos.",
    "Bought it as a gift.",
    "Easy to set up.",
    "The size was a little smaller than I thought.",
    "Customer service answered within a day.",
    "I have been using it daily for a month.",
    "Good value compared to similar products.",
    "The finish could be better.",
)

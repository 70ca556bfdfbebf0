"""A generator of realistic UK and US bank-statement descriptors for all 18 categories.

The open data sets hold brands (mostly Australian and US); real statements are full of small
local businesses no dictionary knows ("SQ *MAYAS NAILS", "CARD PAYMENT TO KEVS CABS ON
07-11-2024"), salaries, fees, council tax, transfers and refunds. This module writes such lines:
brand and local names wrapped in the shapes banks print (processor prefixes, store numbers,
cities and country codes, truncation to the 18-25 character merchant field, UK and US
narratives), with the direction (debit or credit) that goes with them. A refund is a credit in
the shop's own category; ``income`` is salary-like money only.

Deterministic for a given seed. Each example carries a ``group`` (the merchant) so evaluation
can hold out whole merchants.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

DEBIT = "debit"
CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled descriptor."""

    text: str
    label: str
    direction: str
    group: str
    #: ``brand``, ``local``, ``special`` (salary, fees, transfers...) or ``data`` (open data).
    kind: str
    weight: float = 1.0


# ---- brands (UK and US) ------------------------------------------------------------------------

BRANDS: dict[str, tuple[str, ...]] = {
    "groceries": (
        "TESCO", "TESCO EXPRESS", "SAINSBURYS", "SAINSBURY'S S/MKT", "ASDA", "MORRISONS", "WAITROSE",
        "ALDI", "LIDL", "LIDL GB", "CO-OP GROUP", "COOP FOOD", "ICELAND", "M&S SIMPLY FOOD",
        "OCADO", "FARMFOODS", "BUDGENS", "SPAR", "NISA LOCAL", "ONE STOP", "COSTCUTTER",
        "WHOLE FOODS MARKET", "WHOLEFDS", "TRADER JOE'S", "KROGER", "SAFEWAY", "PUBLIX",
        "WEGMANS", "HEB", "ALBERTSONS", "FOOD LION", "GIANT EAGLE", "STOP & SHOP", "MEIJER",
        "SPROUTS FARMERS MKT", "WINCO FOODS", "HARRIS TEETER", "SHOPRITE", "INSTACART",
        "7-ELEVEN", "WALMART GROCERY", "COSTCO WHSE", "SAMS CLUB", "BJS WHOLESALE", "RALPHS",
        "VONS", "FRESH DIRECT", "GORILLAS", "GETIR", "BOOTHS", "HOME BARGAINS FOOD",
    ),
    "dining": (
        "STARBUCKS", "COSTA COFFEE", "PRET A MANGER", "CAFFE NERO", "GREGGS", "MCDONALDS",
        "BURGER KING", "KFC", "NANDOS", "WAGAMAMA", "PIZZA EXPRESS", "DOMINOS PIZZA",
        "PIZZA HUT", "WETHERSPOON", "JD WETHERSPOON", "LEON", "ITSU", "WASABI", "FIVE GUYS",
        "SUBWAY", "TACO BELL", "CHIPOTLE", "PANERA BREAD", "DUNKIN", "WENDYS", "CHICK-FIL-A",
        "SHAKE SHACK", "IN-N-OUT", "SWEETGREEN", "DELIVEROO", "JUST EAT", "UBER EATS",
        "DOORDASH", "GRUBHUB", "POPEYES", "DENNYS", "IHOP", "OLIVE GARDEN", "APPLEBEES",
        "TGI FRIDAYS", "HONEST BURGERS", "DISHOOM", "FRANCO MANCA", "TORTILLA", "BREWDOG",
        "PAUL BAKERY", "GAILS BAKERY", "BLUE BOTTLE COFFEE", "PEETS COFFEE", "TIM HORTONS",
        "WINGSTOP", "ZIZZI", "ASK ITALIAN", "BILLS RESTAURANT", "HARVESTER", "TOBY CARVERY",
        "GERMAN DONER KEBAB", "WAHACA", "YO SUSHI", "BAGEL FACTORY",
    ),
    "transport": (
        "TFL TRAVEL CH", "TFL.GOV.UK/CP", "TRANSPORT FOR LONDON", "UBER TRIP", "UBER *TRIP",
        "LYFT *RIDE", "BOLT.EU", "FREE NOW", "ADDISON LEE", "TRAINLINE", "NATIONAL RAIL",
        "GWR", "LNER", "AVANTI WEST COAST", "SOUTHERN RAIL", "NORTHERN TRAINS", "SCOTRAIL",
        "STAGECOACH", "FIRST BUS", "ARRIVA", "NATIONAL EXPRESS", "SHELL", "BP", "ESSO", "TEXACO",
        "JET", "GULF", "CHEVRON", "EXXONMOBIL", "SUNOCO", "MARATHON PETRO", "VALERO", "CIRCLE K",
        "SPEEDWAY", "WAWA", "RINGGO", "PAYBYPHONE", "NCP PARKING", "JUSTPARK", "APCOA",
        "MTA NYC TRANSIT", "MBTA", "BART", "CLIPPER", "METRO TRANSIT", "SEPTA", "WMATA",
        "EZPASS", "DART CHARGE", "ULEZ", "HALFORDS AUTOCENTRE", "KWIK FIT", "JIFFY LUBE",
        "PEP BOYS", "PODPOINT", "TESLA SUPERCHARGER", "CHARGEPOINT", "INSTAVOLT", "GREYHOUND",
        "MEGABUS", "AMTRAK",
    ),
    "travel": (
        "PREMIER INN", "TRAVELODGE", "HOLIDAY INN", "HILTON HOTELS", "MARRIOTT", "HYATT",
        "IBIS", "AIRBNB", "BOOKING.COM", "EXPEDIA", "HOTELS.COM", "BRITISH AIRWAYS", "EASYJET",
        "RYANAIR", "JET2", "VIRGIN ATLANTIC", "DELTA AIR", "UNITED AIRLINES", "AMERICAN AIRLINES",
        "SOUTHWEST AIRLINES", "JETBLUE", "ALASKA AIRLINES", "SPIRIT AIRLINES", "LUFTHANSA",
        "KLM", "AIR FRANCE", "EMIRATES", "HERTZ", "AVIS", "ENTERPRISE RENT-A-CAR", "EUROPCAR",
        "SIXT", "BUDGET RENT A CAR", "TUI", "LASTMINUTE.COM", "KAYAK", "PRICELINE", "VRBO",
        "EUROSTAR", "BEST WESTERN", "RADISSON", "CENTER PARCS", "P&O FERRIES", "TRIP.COM",
    ),
    "shopping": (
        "AMAZON", "AMZN MKTP", "AMAZON.CO.UK", "ARGOS", "JOHN LEWIS", "MARKS & SPENCER",
        "NEXT", "PRIMARK", "H&M", "ZARA", "UNIQLO", "ASOS", "BOOHOO", "SPORTS DIRECT",
        "JD SPORTS", "CURRYS", "IKEA", "DUNELM", "TK MAXX", "TJ MAXX", "MARSHALLS", "TARGET",
        "WALMART", "BEST BUY", "MACYS", "NORDSTROM", "KOHLS", "OLD NAVY", "GAP", "APPLE STORE",
        "EBAY", "ETSY", "SHEIN", "TEMU", "WAYFAIR", "HOME DEPOT SUPPLY", "WATERSTONES", "WHSMITH",
        "BARNES & NOBLE", "THE WORKS", "SMYTHS TOYS", "HOBBYCRAFT", "POUNDLAND", "B&M RETAIL",
        "HOME BARGAINS", "WILKO", "DEBENHAMS", "SELFRIDGES", "NIKE", "ADIDAS", "FOOT LOCKER",
        "DECATHLON", "ROSS STORES", "DOLLAR TREE", "DOLLAR GENERAL", "BED BATH BEYOND", "CVS",
        "NEWEGG", "STAPLES", "RYMAN", "OFFICE DEPOT", "PANDORA", "CLAIRES", "THE ENTERTAINER",
    ),
    "subscriptions": (
        "NETFLIX.COM", "SPOTIFY", "DISNEY PLUS", "AMAZON PRIME", "PRIME VIDEO", "APPLE.COM/BILL",
        "GOOGLE *YOUTUBE", "YOUTUBE PREMIUM", "GOOGLE STORAGE", "GOOGLE PLAY", "MICROSOFT*365",
        "ADOBE", "DROPBOX", "ICLOUD", "HULU", "HBO MAX", "PARAMOUNT+", "PEACOCK", "NOW TV",
        "AUDIBLE", "KINDLE UNLTD", "PATREON", "OPENAI *CHATGPT", "GITHUB", "NOTION LABS",
        "CANVA", "DUOLINGO", "HEADSPACE", "CALM.COM", "NYTIMES", "THE ECONOMIST", "FT.COM",
        "SUBSTACK", "DAZN", "BRITBOX", "CRUNCHYROLL", "TIDAL", "DEEZER", "XBOX GAME PASS",
        "PLAYSTATION PLUS", "NINTENDO ONLINE", "1PASSWORD", "NORDVPN", "EXPRESSVPN",
        "LINKEDIN PREMIUM", "TINDER", "BUMBLE", "HELLOFRESH", "SIRIUSXM", "ZOOM.US", "SLACK",
    ),
    "utilities": (
        "BRITISH GAS", "OCTOPUS ENERGY", "EDF ENERGY", "E.ON NEXT", "OVO ENERGY", "SCOTTISH POWER",
        "SSE ENERGY", "BULB ENERGY", "THAMES WATER", "SEVERN TRENT", "ANGLIAN WATER",
        "UNITED UTILITIES", "YORKSHIRE WATER", "SOUTHERN WATER", "BT GROUP", "BT BROADBAND",
        "SKY DIGITAL", "VIRGIN MEDIA", "TALKTALK", "PLUSNET", "HYPEROPTIC", "COMMUNITYFIBRE",
        "EE LIMITED", "O2", "VODAFONE", "THREE", "GIFFGAFF", "TESCO MOBILE", "TV LICENCE",
        "TV LICENSING", "VERIZON WIRELESS", "AT&T", "T-MOBILE", "COMCAST", "XFINITY",
        "SPECTRUM", "COX COMM", "CON EDISON", "PG&E", "DUKE ENERGY", "FPL", "NATIONAL GRID",
        "DOMINION ENERGY", "XCEL ENERGY", "GEORGIA POWER", "CITY WATER DEPT", "MINT MOBILE",
        "GOOGLE FI", "FRONTIER COMM", "OPTIMUM", "LEBARA", "LYCAMOBILE",
    ),
    "housing": (
        "COUNCIL TAX", "LB HACKNEY CTAX", "CITY COUNCIL CTAX", "FOXTONS", "OPENRENT",
        "ZOOPLA", "RIGHTMOVE LETTINGS", "NATIONWIDE MORTGAGE", "HALIFAX MORTGAGE",
        "SANTANDER MORTGAGE", "B&Q", "WICKES", "SCREWFIX", "TOOLSTATION", "HOMEBASE",
        "HOME DEPOT", "LOWES", "ACE HARDWARE", "MENARDS", "RENT PAYMENT", "ZILLOW RENT",
        "AVAIL RENT", "WELLS FARGO HOME MTG", "ROCKET MORTGAGE", "CHECKATRADE", "RATED PEOPLE",
        "TASKRABBIT", "ANGI", "RENTOKIL", "TRAVIS PERKINS", "JEWSON", "BUNNINGS", "HOA DUES",
        "PROPERTY TAX", "COUNTY TAX COLLECTOR", "DYNO-ROD", "HOMESERVE",
    ),
    "health": (
        "BOOTS", "BOOTS PHARMACY", "LLOYDS PHARMACY", "SUPERDRUG PHARMACY", "WELL PHARMACY",
        "SPECSAVERS", "VISION EXPRESS", "PUREGYM", "THE GYM GROUP", "DAVID LLOYD", "NUFFIELD HEALTH",
        "BUPA DENTAL", "MYDENTIST", "ANYTIME FITNESS", "PLANET FITNESS", "EQUINOX", "LA FITNESS",
        "24 HOUR FITNESS", "ORANGETHEORY", "BARRYS", "F45 TRAINING", "CVS PHARMACY", "WALGREENS",
        "RITE AID", "GOODRX", "KAISER PERMANENTE", "QUEST DIAGNOSTICS", "LABCORP", "CITYMD",
        "ONE MEDICAL", "NHS PRESCRIPTION", "NHSBSA", "BETTER GYM", "PELOTON", "GOLDS GYM",
        "LA NUT", "HOLLAND & BARRETT", "GNC", "LENSCRAFTERS", "ASPEN DENTAL",
    ),
    "entertainment": (
        "ODEON", "VUE CINEMAS", "CINEWORLD", "EVERYMAN CINEMA", "PICTUREHOUSE", "AMC THEATRES",
        "REGAL CINEMAS", "CINEMARK", "TICKETMASTER", "SEE TICKETS", "EVENTBRITE", "LIVE NATION",
        "STUBHUB", "AXS", "DICE.FM", "STEAM GAMES", "STEAMPOWERED", "PLAYSTATION NETWORK",
        "NINTENDO ESHOP", "XBOX", "EPIC GAMES", "GAME DIGITAL", "HOLLYWOOD BOWL", "TENPIN",
        "MERLIN ENTERTAINMENTS", "MADAME TUSSAUDS", "LEGOLAND", "THORPE PARK", "ALTON TOWERS",
        "NATIONAL TRUST", "ENGLISH HERITAGE", "SIX FLAGS", "DAVE & BUSTERS", "TOPGOLF",
        "BET365", "WILLIAM HILL", "PADDY POWER", "LADBROKES", "NATIONAL LOTTERY", "DRAFTKINGS",
        "FANDUEL", "ROUNDUP GOLF", "ROYAL ALBERT HALL", "NATIONAL THEATRE", "ESCAPE HUNT",
    ),
    "personal_care": (
        "TONI & GUY", "RUSH HAIR", "SUPERCUTS", "GREAT CLIPS", "SPORT CLIPS", "HEADMASTERS",
        "SEPHORA", "ULTA BEAUTY", "SUPERDRUG", "THE BODY SHOP", "LUSH", "SPACE NK", "BENEFIT",
        "MAC COSMETICS", "BATH & BODY WORKS", "BLUE MERCURY", "EUROPEAN WAX CENTER",
        "DRYBAR", "TREATWELL", "FRESHA", "BOOKSY", "THE ORDINARY", "JOHNSONS CLEANERS",
        "TIMPSON", "BRAND LAUNDRY", "MASSAGE ENVY", "HAND & STONE", "NAILS INC",
        "REGIS SALON", "FANTASTIC SAMS", "ROSS SIMONS BEAUTY", "CULT BEAUTY",
    ),
    "education": (
        "UDEMY", "COURSERA", "SKILLSHARE", "MASTERCLASS", "OPEN UNIVERSITY", "UNIVERSITY OF LEEDS",
        "UNIV OF MANCHESTER", "KINGS COLLEGE LONDON", "UCL", "PEARSON", "CHEGG", "KHAN ACADEMY",
        "EDX", "PLURALSIGHT", "LINKEDIN LEARNING", "BBC BITESIZE", "KUMON", "SYLVAN LEARNING",
        "BRITISH COUNCIL", "BERLITZ", "PRINCETON REVIEW", "KAPLAN", "COLLEGE BOARD", "UCAS",
        "STUDENT LOANS CO", "NAVIENT", "SALLIE MAE", "UNIV OF TEXAS", "ASU TUITION",
        "BLACKBOARD", "SCHOOLPAY", "PARENTPAY", "SCHOOLMONEY", "WISEPAY", "ARBOR EDUCATION",
    ),
    "insurance": (
        "AVIVA", "DIRECT LINE", "ADMIRAL INSURANCE", "AXA INSURANCE", "LV INSURANCE",
        "HASTINGS DIRECT", "CHURCHILL INSURANCE", "LEGAL & GENERAL", "ZURICH", "ROYAL LONDON",
        "VITALITY HEALTH", "BUPA", "PETPLAN", "ESURE", "SAGA INSURANCE", "MORE THAN",
        "GEICO", "PROGRESSIVE INS", "STATE FARM", "ALLSTATE", "LIBERTY MUTUAL", "NATIONWIDE INS",
        "FARMERS INS", "USAA INSURANCE", "LEMONADE INS", "METLIFE", "PRUDENTIAL", "AFLAC",
        "TRAVELERS INS", "HISCOX", "SIMPLY BUSINESS", "COMPARE THE MARKET", "GO COMPARE",
        "BLUE CROSS", "CIGNA", "AETNA", "HUMANA", "UNITEDHEALTHCARE", "OSCAR HEALTH",
    ),
    "gifts_donations": (
        "JUSTGIVING", "GOFUNDME", "OXFAM", "BRITISH RED CROSS", "CANCER RESEARCH UK", "RSPCA",
        "NSPCC", "MACMILLAN CANCER", "BRITISH HEART FDN", "SAVE THE CHILDREN", "UNICEF",
        "AMNESTY INTL", "WATERAID", "SHELTER", "CHILDREN IN NEED", "COMIC RELIEF", "BARNARDOS",
        "SALVATION ARMY", "AMERICAN RED CROSS", "ST JUDE CHILDRENS", "WIKIMEDIA", "DOCTORS WITHOUT",
        "WWF", "GREENPEACE", "CAF DONATE", "BENEVITY", "GIVEWELL", "CHARITIES AID FDN",
        "MOONPIG", "FUNKY PIGEON", "INTERFLORA", "CARDFACTORY", "CARD FACTORY", "1-800-FLOWERS",
        "PAPERCHASE", "HALLMARK", "FLORIST", "EDIBLE ARRANGEMENTS",
    ),
    "other": (
        "POST OFFICE", "ROYAL MAIL", "PARCELFORCE", "EVRI", "DPD", "USPS", "UPS", "FEDEX",
        "DVLA", "HM PASSPORT OFFICE", "GOV.UK", "HMRC SELF ASSESSMENT", "HMRC PAYMENT", "IRS USATAXPYMT",
        "DMV", "US POSTAL SERVICE", "PETS AT HOME", "PETCO", "PETSMART", "CHEWY", "VETS4PETS",
        "BIG YELLOW STORAGE", "SAFESTORE", "PUBLIC STORAGE", "REGUS", "WEWORK", "CITY OF",
        "COURT FEES", "COMPANIES HOUSE", "TAX COLLECTOR", "H&R BLOCK", "TURBOTAX", "LEGALZOOM",
        "BRIGHT HORIZONS", "KINDERCARE", "NURSERY FEES", "CHILDCARE", "COUNTY CLERK",
    ),
}

# Display names where title case would be wrong.
CANONICAL: dict[str, str] = {
    "TFL TRAVEL CH": "TfL", "TFL.GOV.UK/CP": "TfL", "TRANSPORT FOR LONDON": "TfL",
    "UBER TRIP": "Uber", "UBER *TRIP": "Uber", "LYFT *RIDE": "Lyft", "AMZN MKTP": "Amazon",
    "AMAZON.CO.UK": "Amazon", "SAINSBURY'S S/MKT": "Sainsbury's", "SAINSBURYS": "Sainsbury's",
    "MCDONALDS": "McDonald's", "NANDOS": "Nando's", "WHOLEFDS": "Whole Foods Market",
    "NETFLIX.COM": "Netflix", "APPLE.COM/BILL": "Apple", "GOOGLE *YOUTUBE": "YouTube",
    "MICROSOFT*365": "Microsoft 365", "OPENAI *CHATGPT": "OpenAI", "BP": "BP", "KFC": "KFC",
    "H&M": "H&M", "EE LIMITED": "EE", "O2": "O2", "BT GROUP": "BT", "BT BROADBAND": "BT",
    "AT&T": "AT&T", "PG&E": "PG&E", "FPL": "FPL", "B&Q": "B&Q", "UCL": "UCL", "IHOP": "IHOP",
    "CVS": "CVS", "GNC": "GNC", "DPD": "DPD", "UPS": "UPS", "USPS": "USPS", "DVLA": "DVLA",
    "TK MAXX": "TK Maxx", "TJ MAXX": "TJ Maxx", "COSTCO WHSE": "Costco", "JD WETHERSPOON": "Wetherspoon",
}


def canonical(brand: str) -> str:
    """How a brand of :data:`BRANDS` is shown."""
    return CANONICAL.get(brand) or brand.title().replace("'S", "'s")


# Typed quick-add words per category ("latte", "croissant"): what people write without a shop.
TYPED: dict[str, tuple[str, ...]] = {
    "groceries": ("groceries", "food shop", "weekly shop", "milk", "bread", "eggs", "veg",
                  "supermarket", "food shopping", "wine for home", "cleaning stuff"),
    "dining": ("latte", "coffee", "cappuccino", "flat white", "croissant", "pastry", "lunch",
               "dinner", "breakfast", "brunch", "takeaway", "pizza", "burger", "sushi", "drinks",
               "pints", "beers", "cocktails", "sandwich", "meal deal", "curry", "kebab", "tea and cake",
               "ice cream", "dinner out", "snack"),
    "transport": ("taxi", "cab", "uber home", "bus", "bus fare", "train", "train ticket", "tube",
                  "petrol", "fuel", "diesel", "parking", "car park", "toll", "oyster top up",
                  "metro card", "car wash", "mot", "tyres"),
    "travel": ("flight", "flights", "hotel", "airbnb", "hostel", "holiday", "car hire",
               "plane tickets", "hotel night"),
    "shopping": ("clothes", "shoes", "jeans", "t-shirt", "jacket", "headphones", "phone case",
                 "charger", "book", "lamp", "homewares", "new dress", "trainers", "backpack"),
    "subscriptions": ("netflix subscription", "spotify premium", "app subscription",
                      "cloud storage", "streaming", "magazine subscription", "vpn"),
    "utilities": ("electric bill", "gas bill", "water bill", "broadband", "phone bill",
                  "internet bill", "mobile top up", "energy bill", "tv licence"),
    "housing": ("rent", "mortgage", "council tax", "plumber", "electrician", "locksmith",
                "boiler repair", "paint for bedroom", "new tap", "builder"),
    "health": ("prescription", "pharmacy", "paracetamol", "dentist", "doctor", "physio",
               "gym", "gym membership", "yoga class", "contact lenses", "eye test", "vitamins"),
    "entertainment": ("cinema", "cinema tickets", "movie", "concert", "gig tickets", "theatre",
                      "bowling", "video game", "museum", "football tickets", "comedy show"),
    "personal_care": ("haircut", "barber", "nails", "manicure", "hairdresser", "shampoo",
                      "makeup", "massage", "dry cleaning", "eyebrows", "wax"),
    "education": ("tuition", "course", "textbooks", "school fees", "online course",
                  "driving lesson", "piano lesson", "exam fee", "tutor"),
    "insurance": ("car insurance", "home insurance", "travel insurance", "pet insurance",
                  "life insurance", "phone insurance"),
    "fees": ("bank fee", "overdraft fee", "late fee", "atm fee", "parking fine", "card fee"),
    "income": ("salary", "paycheck", "wages", "bonus", "tax refund", "interest"),
    "transfers": ("transfer to savings", "cash withdrawal", "atm", "paid back sam",
                  "sent money to mum", "credit card payment", "savings"),
    "gifts_donations": ("birthday present", "gift", "wedding gift", "charity donation",
                        "donation", "flowers for mum", "christmas presents", "sponsorship"),
    "other": ("postage", "stamps", "vet", "dog food", "passport renewal", "solicitor",
              "childcare", "storage unit", "printing"),
}


# ---- local businesses: owner/place names + the generic word that carries the signal ---------

SURNAMES = (
    "SMITH JONES TAYLOR BROWN WILLIAMS WILSON JOHNSON DAVIES ROBINSON WRIGHT THOMPSON EVANS "
    "WALKER WHITE ROBERTS GREEN HALL WOOD JACKSON CLARKE PATEL KHAN SINGH AHMED ALI MURPHY "
    "KELLY OBRIEN GARCIA MARTINEZ RODRIGUEZ LOPEZ NGUYEN KIM CHEN WONG LEE MILLER DAVIS "
    "ANDERSON MOORE MARTIN HARRIS LEWIS YOUNG KING SCOTT HILL ADAMS BAKER NELSON CARTER "
    "MITCHELL PEREZ TURNER PHILLIPS CAMPBELL PARKER COLLINS STEWART MORRIS ROGERS REED COOK "
    "MORGAN BELL BAILEY COOPER HOWARD WARD FOX HUGHES PRICE BENNETT GRAY JAMES REYES HUGHES "
    "FISHER HUNT PALMER MASON KNIGHT ROSS HENDERSON FLETCHER PEARSON STONE RILEY SHAW "
    "OKAFOR ADEYEMI KOWALSKI NOWAK ROSSI ESPOSITO MULLER SCHMIDT DUBOIS SILVA COSTA YILMAZ"
).split()
FIRST_NAMES = (
    "JOES KEVS MAYAS DAVES SAMS TONYS MARIAS ANNAS MIKES JIMMYS LUCYS ROSIES BENS TOMS "
    "NICKS ALIS PAULS SUES JACKS HARRYS OLLIES PRIYAS RAJS MOS LEOS NINAS CARLOS ZOES "
    "FREDDIES BELLAS GINOS LUIGIS MARCOS STEVES DANNYS CHARLIES ELLIES KATES AMYS GEORGES"
).split()
PLACES = (
    "HIGH STREET|MARKET STREET|STATION ROAD|CHURCH LANE|KINGS ROAD|MILL LANE|PARK ROAD|"
    "RIVERSIDE|HILLSIDE|VILLAGE|TOWN CENTRE|CORNER|BRIDGE STREET|MAIN STREET|ELM STREET|"
    "OAK AVENUE|MAPLE|CEDAR|WILLOW|HARBOUR|ABBEY|CASTLE|PRIORY|MEADOW|ORCHARD|EASTGATE|"
    "NORTHSIDE|SOUTHSIDE|WESTEND|DOWNTOWN|UPTOWN|MIDTOWN|BAYSIDE|LAKESIDE|GREENWOOD|"
    "BRIXTON|HACKNEY|CLAPHAM|PECKHAM|SOHO|CAMDEN|LEITH|JESMOND|HEADINGLEY|DIDSBURY|"
    "ANCOATS|CLIFTON|BEDMINSTER|BROOKLYN|ASTORIA|WILLIAMSBURG|MISSION|CAPITOL HILL|"
    "FULHAM|BALHAM|PUTNEY|HAMPSTEAD|HIGHGATE|ISLINGTON|SHOREDITCH|DALSTON|WALTHAMSTOW"
).split("|")
ADJECTIVES = (
    "GOLDEN|RED|BLUE|GREEN|ROYAL|OLD|NEW|LITTLE|BIG|HAPPY|LUCKY|CROWN|STAR|SUNRISE|"
    "SUNSHINE|SILVER|ORIGINAL|FAMILY|CITY|COUNTRY|FRIENDLY|URBAN|MODERN|CLASSIC|PREMIER|"
    "PRIME|BEST|FIRST|UNITED|SUPREME|ELITE|SIMPLY|PURE|FRESH|GOOD|WILD|BRIGHT"
).split("|")

# Generic words per category: small local businesses. "{X}" is replaced by a name part.
LOCAL_WORDS: dict[str, tuple[str, ...]] = {
    "groceries": (
        "SUPERMARKET", "MINI MARKET", "MINIMARKET", "GROCERY", "GROCERS", "GROCERIES",
        "FOOD STORE", "FOODS", "BUTCHERS", "BUTCHER", "FAMILY BUTCHER", "FISHMONGER",
        "GREENGROCER", "FRUIT & VEG", "FARM SHOP", "CONVENIENCE STORE", "CONVENIENCE",
        "OFF LICENCE", "OFF LICENSE", "LIQUOR STORE", "WINE SHOP", "ORGANIC MARKET",
        "FOOD MARKET", "FARMERS MARKET", "HALAL MEAT", "ASIAN SUPERMARKET", "NEWSAGENTS",
        "CORNER SHOP", "BODEGA", "DELI & GROCERY", "FOOD CENTRE", "CASH & CARRY",
        "STORES LTD", "PRODUCE", "MEATS", "CHEESE SHOP", "DAIRY",
    ),
    "dining": (
        "CAFE", "COFFEE", "COFFEE SHOP", "COFFEE HOUSE", "ESPRESSO BAR", "ROASTERS", "BAKERY",
        "PATISSERIE", "RESTAURANT", "PIZZA", "PIZZERIA", "KEBAB", "KEBAB HOUSE", "FISH BAR",
        "FISH & CHIPS", "CHIPPY", "TAKEAWAY", "GRILL", "DINER", "BISTRO", "BRASSERIE", "TAVERN",
        "PUB", "ARMS", "BAR", "KITCHEN", "NOODLE BAR", "SUSHI", "THAI", "CURRY HOUSE",
        "TANDOORI", "INDIAN CUISINE", "BURGERS", "TACOS", "TAQUERIA", "BBQ", "SMOKEHOUSE",
        "DELI", "CANTEEN", "EATERY", "TEA ROOM", "TEAROOMS", "GELATO", "ICE CREAM", "DONUTS",
        "BAGELS", "RAMEN", "DIM SUM", "CHINESE TAKEAWAY", "WOK", "TRATTORIA", "CANTINA",
        "STEAKHOUSE", "BREWERY", "TAPROOM", "WINE BAR", "COCKTAIL BAR", "SANDWICH BAR",
        "JUICE BAR", "FRIED CHICKEN", "PERI PERI", "SEAFOOD", "OYSTER BAR", "CREPERIE",
        "LOUNGE", "INN PUB", "ALEHOUSE",
    ),
    "transport": (
        "TAXI", "TAXIS", "CABS", "CARS", "MINICABS", "PRIVATE HIRE", "CAR PARK", "PARKING",
        "PETROL", "PETROL STATION", "FILLING STATION", "SERVICE STATION", "FUEL", "GAS STATION",
        "AUTO REPAIR", "AUTO SERVICE", "GARAGE", "MOT CENTRE", "MOT", "TYRES", "TIRE & AUTO",
        "CAR WASH", "HAND CAR WASH", "VALETING", "COACHES", "BUS", "RAILWAY", "TRANSIT",
        "TOLL", "TOLL BRIDGE", "EV CHARGING", "MOTORS", "AUTO PARTS", "BODY SHOP AUTO",
        "EXHAUST", "BRAKES", "LUBE", "FERRY", "BIKE SHOP", "CYCLES",
    ),
    "travel": (
        "HOTEL", "HOTELS", "GUEST HOUSE", "GUESTHOUSE", "B&B", "BED & BREAKFAST", "HOSTEL",
        "INN HOTEL", "LODGE", "RESORT", "MOTEL", "SUITES", "AIRWAYS", "AIRLINES", "AIR",
        "CAR HIRE", "CAR RENTAL", "VAN HIRE", "TRAVEL", "TRAVEL AGENTS", "HOLIDAYS", "TOURS",
        "CAMPSITE", "CARAVAN PARK", "HOLIDAY PARK", "COTTAGES", "VILLAS", "CRUISES",
        "APARTMENTS", "SERVICED APTS",
    ),
    "shopping": (
        "BOUTIQUE", "CLOTHING", "FASHION", "SHOES", "FOOTWEAR", "JEWELLERS", "JEWELERS",
        "GIFT SHOP", "BOOKSHOP", "BOOKS", "BOOKSTORE", "ELECTRONICS", "COMPUTERS",
        "PHONE REPAIR", "MOBILE PHONES", "TOYS", "TOY SHOP", "HOMEWARE", "HOMEWARES",
        "FURNITURE", "INTERIORS", "DEPARTMENT STORE", "OUTLET", "STATIONERS", "STATIONERY",
        "ART SUPPLIES", "VINTAGE", "THRIFT", "SPORTS", "OUTDOORS", "CAMERAS", "RECORDS",
        "MUSIC SHOP", "FABRICS", "HABERDASHERY", "KITCHENWARE", "LIGHTING", "RUGS",
        "DISCOUNT STORE", "POUND SHOP", "VARIETY STORE", "GENERAL STORE", "EMPORIUM",
        "TRADING CO", "APPAREL", "MENSWEAR", "BRIDAL", "OPTICAL SUNGLASSES", "WATCHES",
    ),
    "subscriptions": (
        "SUBSCRIPTION", "MONTHLY SUBSCRIPTION", "MEMBERSHIP FEE", "STREAMING", "APP",
        "APPS", "SOFTWARE", "CLOUD", "PREMIUM", "PLUS", "PRO PLAN", "ANNUAL PLAN",
        "MONTHLY PLAN", "VPN", "HOSTING", "DOMAINS", "MAGAZINE SUB", "NEWS SUBSCRIPTION",
        "DIGITAL", "ONLINE SERVICES", "SAAS", "LICENSE RENEWAL",
    ),
    "utilities": (
        "ENERGY", "ELECTRIC", "ELECTRICITY", "GAS & ELECTRIC", "POWER", "POWER & LIGHT",
        "WATER", "WATER SERVICES", "WATER DEPT", "UTILITIES", "UTILITY", "BROADBAND",
        "TELECOM", "TELECOMS", "COMMUNICATIONS", "WIRELESS", "MOBILE", "INTERNET",
        "FIBRE", "FIBER", "CABLE TV", "SEWER", "WASTE SERVICES", "HEATING OIL", "PROPANE",
        "TV LICENCE", "PHONE BILL",
    ),
    "housing": (
        "RENT", "LETTINGS", "ESTATE AGENTS", "PROPERTY MGMT", "PROPERTY MANAGEMENT",
        "PROPERTIES", "APARTMENTS RENT", "LANDLORD", "MORTGAGE", "HOME LOANS", "COUNCIL TAX",
        "PROPERTY TAX", "PLUMBING", "PLUMBER", "PLUMBING & HEATING", "ELECTRICIAN",
        "ELECTRICAL", "ROOFING", "BUILDERS", "BUILDING SERVICES", "HANDYMAN", "LOCKSMITH",
        "LOCKSMITHS", "DECORATING", "DECORATORS", "PAINTING", "GLAZING", "WINDOWS",
        "PEST CONTROL", "HARDWARE", "DIY", "TIMBER", "LUMBER", "BUILDERS MERCHANT",
        "LANDSCAPING", "GARDENING", "GARDEN SERVICES", "CLEANING SERVICES", "CARPETS",
        "FLOORING", "KITCHENS", "BATHROOMS", "HVAC", "BOILER SERVICE", "HOA", "CONDO ASSN",
        "DRAINAGE", "CHIMNEY SWEEP",
    ),
    "health": (
        "PHARMACY", "CHEMIST", "CHEMISTS", "DRUGSTORE", "DENTAL", "DENTAL CARE",
        "DENTAL PRACTICE", "DENTIST", "ORTHODONTICS", "OPTICIANS", "OPTICIAN", "OPTOMETRY",
        "EYE CARE", "CLINIC", "MEDICAL", "MEDICAL CENTRE", "MEDICAL CENTER", "HEALTH CENTRE",
        "PHYSIO", "PHYSIOTHERAPY", "PHYSICAL THERAPY", "CHIROPRACTIC", "OSTEOPATH",
        "PODIATRY", "GYM", "FITNESS", "HEALTH CLUB", "YOGA", "PILATES", "CROSSFIT",
        "BOXING GYM", "LEISURE CENTRE", "HOSPITAL", "URGENT CARE", "PEDIATRICS",
        "DERMATOLOGY", "COUNSELLING", "THERAPY", "HEARING", "AUDIOLOGY", "LABS",
    ),
    "entertainment": (
        "CINEMA", "CINEMAS", "THEATRE", "THEATER", "PLAYHOUSE", "BOWLING", "BOWL", "CONCERTS",
        "TICKETS", "BOX OFFICE", "GOLF CLUB", "GOLF", "MINI GOLF", "ESCAPE ROOM", "ARCADE",
        "MUSEUM", "ZOO", "AQUARIUM", "GALLERY", "GAMES", "GAMING", "COMEDY CLUB", "KARAOKE",
        "LASER TAG", "TRAMPOLINE PARK", "CLIMBING WALL", "BOOKMAKERS", "BETTING", "CASINO",
        "BINGO", "LOTTERY", "SNOOKER CLUB", "POOL HALL", "JAZZ CLUB", "NIGHTCLUB",
        "FESTIVAL", "THEME PARK", "FUNFAIR", "SOFT PLAY", "ICE RINK", "SKATE PARK", "PAINTBALL",
    ),
    "personal_care": (
        "BARBER", "BARBERS", "BARBERSHOP", "BARBER SHOP", "HAIR", "HAIR SALON", "HAIR STUDIO",
        "HAIRDRESSING", "HAIRDRESSERS", "SALON", "NAILS", "NAIL BAR", "NAIL SALON", "BEAUTY",
        "BEAUTY SALON", "BEAUTY BAR", "SPA", "DAY SPA", "LASHES", "BROWS", "LASH & BROW",
        "TANNING", "TANNING SALON", "AESTHETICS", "MASSAGE", "WAXING", "DRY CLEANERS",
        "DRY CLEANING", "LAUNDERETTE", "LAUNDROMAT", "LAUNDRY", "TATTOO", "PIERCING",
        "COSMETICS", "SKIN CLINIC", "GROOMING",
    ),
    "education": (
        "TUITION", "TUTORS", "TUTORING", "SCHOOL", "SCHOOL FEES", "ACADEMY", "UNIVERSITY",
        "COLLEGE", "LEARNING", "LEARNING CENTRE", "DRIVING SCHOOL", "DRIVING LESSONS",
        "MUSIC LESSONS", "PIANO LESSONS", "LANGUAGE SCHOOL", "COURSES", "TRAINING COURSE",
        "EDUCATION", "INSTITUTE", "STUDY CENTRE", "MONTESSORI", "PREP SCHOOL", "SWIM SCHOOL",
        "DANCE SCHOOL", "EXAM FEES", "TEXTBOOKS", "CAMPUS STORE", "BOOTCAMP",
    ),
    "insurance": (
        "INSURANCE", "INSURANCE SERVICES", "INS", "INSURE", "ASSURANCE", "UNDERWRITING",
        "LIFE ASSURANCE", "LIFE INSURANCE", "CAR INSURANCE", "AUTO INSURANCE",
        "HOME INSURANCE", "PET INSURANCE", "TRAVEL INSURANCE", "HEALTH INSURANCE",
        "INSURANCE BROKERS", "MUTUAL INS", "INSURANCE AGENCY", "PREMIUM INS", "COVER",
        "PROTECTION PLAN", "WARRANTY",
    ),
    "gifts_donations": (
        "CHARITY", "CHARITABLE TRUST", "FOUNDATION", "DONATION", "DONATE", "APPEAL",
        "HOSPICE", "CHURCH", "PARISH", "MOSQUE", "TEMPLE", "SYNAGOGUE", "TITHE",
        "FUNDRAISING", "RELIEF FUND", "GIFTS", "FLOWERS", "FLORIST", "FLORISTS",
        "GIFT CARD", "GIFT HAMPERS", "PTA DONATION", "SPONSORSHIP",
    ),
    "other": (
        "POST OFFICE", "POSTAGE", "COURIERS", "SHIPPING", "VETS", "VETERINARY",
        "VET CLINIC", "ANIMAL HOSPITAL", "PET SHOP", "PET SUPPLIES", "DOG GROOMING",
        "KENNELS", "SOLICITORS", "LAW FIRM", "ATTORNEY", "ACCOUNTANTS", "ACCOUNTING",
        "TAX SERVICES", "FUNERAL", "FUNERAL DIRECTORS", "CHILDCARE", "NURSERY", "DAYCARE",
        "CHILDMINDER", "STORAGE", "SELF STORAGE", "REMOVALS", "MOVERS", "PRINTING",
        "PRINT SHOP", "COWORKING", "TOWN COUNCIL", "PARISH COUNCIL", "PERMITS",
        "LICENSING", "NOTARY", "TRANSLATION", "CONSULTING",
    ),
}


def _local_name(rng: random.Random, word: str) -> str:
    shape = rng.random()
    if shape < 0.25:
        return f"{rng.choice(FIRST_NAMES)} {word}"
    if shape < 0.45:
        return f"{rng.choice(SURNAMES)} {word}"
    if shape < 0.6:
        return f"THE {rng.choice(ADJECTIVES)} {word}"
    if shape < 0.75:
        return f"{rng.choice(PLACES)} {word}"
    if shape < 0.85:
        return f"{rng.choice(ADJECTIVES)} {word}"
    if shape < 0.93:
        return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {word}"
    return f"{word} {rng.choice(PLACES)}"


# ---- descriptor shapes ------------------------------------------------------------------------

UK_CITIES = (
    "LONDON", "LDN", "MANCHESTER", "BIRMINGHAM", "LEEDS", "GLASGOW", "EDINBURGH", "BRISTOL",
    "LIVERPOOL", "CARDIFF", "NOTTINGHAM", "SHEFFIELD", "BRIGHTON", "OXFORD", "CAMBRIDGE", "YORK",
    "READING", "NEWCASTLE", "LEICESTER", "NORWICH", "EXETER", "BATH", "CROYDON", "WATFORD",
)
US_CITIES = (
    ("NEW YORK", "NY"), ("BROOKLYN", "NY"), ("SEATTLE", "WA"), ("SAN FRANCISCO", "CA"),
    ("LOS ANGELES", "CA"), ("CHICAGO", "IL"), ("AUSTIN", "TX"), ("HOUSTON", "TX"),
    ("BOSTON", "MA"), ("DENVER", "CO"), ("ATLANTA", "GA"), ("MIAMI", "FL"), ("PORTLAND", "OR"),
    ("PHOENIX", "AZ"), ("NASHVILLE", "TN"), ("CHARLOTTE", "NC"), ("COLUMBUS", "OH"),
    ("MINNEAPOLIS", "MN"), ("SAN DIEGO", "CA"), ("DALLAS", "TX"), ("PHILADELPHIA", "PA"),
)
PROCESSOR_PREFIXES = (
    "SQ *", "SQ*", "TST* ", "TST*", "PAYPAL *", "PP*", "SUMUP *", "SMP*", "ZETTLE_*", "IZ *",
    "SP * ", "SP *", "CLOVER*", "STRIPE*", "LSP*",
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _dmy(rng: random.Random) -> str:
    sep = rng.choice("-/.")
    return f"{rng.randint(1, 28):02d}{sep}{rng.randint(1, 12):02d}{sep}{rng.choice(('2024', '2025', '24', '25'))}"


def _truncate(rng: random.Random, s: str) -> str:
    if len(s) > 18 and rng.random() < 0.5:
        return s[: rng.randint(18, 25)].rstrip()
    return s


def _uk_line(rng: random.Random, name: str, direct_debit: bool = False) -> str:
    r = rng.random()
    if direct_debit:
        if r < 0.4:
            return f"DIRECT DEBIT PAYMENT TO {name} REF {_digits(rng, rng.randint(6, 12))}"
        if r < 0.6:
            return f"{_truncate(rng, name)} DDR"
        if r < 0.8:
            return f"DD {name}"
        return f"{name} {_digits(rng, 8)} DD"
    if r < 0.2:
        return f"CARD PAYMENT TO {name} ON {_dmy(rng)}"
    if r < 0.3:
        return f"CARD PAYMENT TO {_truncate(rng, name)}{rng.choice(('', ' ' + rng.choice(UK_CITIES)))} ON {_dmy(rng)}"
    if r < 0.45:
        city = rng.choice(UK_CITIES)
        cc = rng.choice(("GB", "GBR", "", "UK"))
        return f"{_truncate(rng, name)} {city} {cc}".strip()
    if r < 0.55:
        return f"{name} {_digits(rng, rng.randint(3, 5))} {rng.choice(UK_CITIES)}"
    if r < 0.63:
        return f"CONTACTLESS PAYMENT {name}"
    if r < 0.7:
        return f"{rng.choice(('VIS', 'DEB', 'POS'))} {_truncate(rng, name)}"
    if r < 0.78:
        return f"{name} ON {rng.randint(1, 28):02d} {rng.choice(MONTHS)} {rng.choice(('BCC', 'CPM', 'CLP', ''))}".strip()
    return _truncate(rng, name)


def _us_line(rng: random.Random, name: str) -> str:
    city, state = rng.choice(US_CITIES)
    r = rng.random()
    if r < 0.15:
        return (
            f"PURCHASE AUTHORIZED ON {rng.randint(1, 12):02d}/{rng.randint(1, 28):02d} "
            f"{_truncate(rng, name)} {city} {state} S{_digits(rng, 15)} CARD {_digits(rng, 4)}"
        )
    if r < 0.28:
        return f"POS DEBIT {_truncate(rng, name)} {city} {state}"
    if r < 0.38:
        return f"DEBIT CARD PURCHASE - {name} {city} {state}"
    if r < 0.46:
        return f"CHECKCARD {_digits(rng, 4)} {_truncate(rng, name)} {city} {state} {_digits(rng, 23)}"
    if r < 0.62:
        return f"{_truncate(rng, name)} #{_digits(rng, rng.randint(3, 5))} {city} {state}"
    if r < 0.72:
        return f"{_truncate(rng, name)} {_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)} {state}"
    if r < 0.82:
        return f"{_truncate(rng, name)} {city} {state}"
    return _truncate(rng, name)


def _wrap(rng: random.Random, name: str, label: str, processor_ok: bool) -> str:
    if processor_ok and rng.random() < 0.22:
        name = f"{rng.choice(PROCESSOR_PREFIXES)}{name}"
    bills = label in ("utilities", "insurance", "housing", "subscriptions", "education", "health")
    if rng.random() < 0.55:
        return _uk_line(rng, name, direct_debit=bills and rng.random() < 0.6)
    return _us_line(rng, name)


def _refund(rng: random.Random, line: str) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{line} REFUND"
    if r < 0.5:
        return f"REFUND {line}"
    if r < 0.6:
        return f"{line} RETURN"
    return line


# ---- salary, fees, transfers and the like -----------------------------------------------------

EMPLOYERS = (
    "ACME LTD", "GLOBEX CORP", "INITECH", "NHS TRUST", "COUNTY COUNCIL", "TESCO STORES LTD",
    "AMAZON UK SERVICES", "DELOITTE LLP", "UNIVERSITY OF LEEDS", "BARCLAYS BANK PLC",
    "NORTHWIND TRADING", "CONTOSO LTD", "STARK INDUSTRIES", "WAYNE ENTERPRISES", "GUSTO",
    "ADP", "PAYCHEX", "INTUIT PAYROLL", "STATE OF CALIFORNIA", "CITY OF AUSTIN", "NETWORK RAIL",
)


def _special(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """(text, label, direction) lines for money that has no shop behind it."""
    emp = rng.choice(EMPLOYERS)
    month = rng.choice(MONTHS)
    yield from (
        (f"{emp} SALARY", "income", CREDIT),
        (f"SALARY {emp} BGC", "income", CREDIT),
        (f"{emp} PAYROLL", "income", CREDIT),
        (f"BANK GIRO CREDIT {emp} {month} SALARY", "income", CREDIT),
        (f"FASTER PAYMENT RECEIVED FROM {emp} REF SALARY", "income", CREDIT),
        (f"{emp} DIRECT DEP PPD ID: {_digits(rng, 10)}", "income", CREDIT),
        (f"DIRECT DEPOSIT {emp} PAYROLL", "income", CREDIT),
        (f"{emp} WAGES", "income", CREDIT),
        (f"{emp} PAY {month}", "income", CREDIT),
        (rng.choice(("INTEREST PAID", "INTEREST EARNED", "GROSS INTEREST", "CREDIT INTEREST",
                     "INTEREST PAYMENT", "SAVINGS INTEREST", "INTEREST CREDIT")), "income", CREDIT),
        (rng.choice(("HMRC TAX REFUND", "HMRC REFUND REF", "IRS TREAS 310 TAX REF",
                     "TAX REFUND", "STATE TAX REFUND")), "income", CREDIT),
        (rng.choice(("DWP UC", "DWP UNIVERSAL CREDIT", "DWP CHILD BENEFIT", "CHB HMRC",
                     "DWP STATE PENSION", "DWP PIP", "SSA TREAS 310 XXSOC SEC", "UNEMPLOYMENT BENEFIT",
                     "PENSION PAYMENT", "CASHBACK REWARD", "DIVIDEND PAYMENT")), "income", CREDIT),
        (rng.choice(("MONTHLY ACCOUNT FEE", "MONTHLY MAINTENANCE FEE", "OVERDRAFT FEE",
                     "ARRANGED OVERDRAFT INTEREST", "OVERDRAFT INTEREST", "UNARRANGED OD FEE",
                     "NON-STERLING TRANSACTION FEE", "NON-STERLING CASH FEE", "FOREIGN TRANSACTION FEE",
                     "INTL TRANSACTION FEE", "ATM FEE", "OUT OF NETWORK ATM FEE", "LATE PAYMENT FEE",
                     "LATE FEE", "UNPAID ITEM CHARGE", "RETURNED ITEM FEE", "NSF FEE", "SERVICE CHARGE",
                     "ACCOUNT SERVICE CHARGE", "ANNUAL CARD FEE", "ANNUAL FEE", "CASH ADVANCE FEE",
                     "INTEREST CHARGE ON PURCHASES", "INTEREST CHARGED", "PURCHASE INTEREST",
                     "WIRE TRANSFER FEE", "PACKAGED ACCOUNT FEE", "PCN PENALTY CHARGE",
                     "PARKING FINE", "MINIMUM BALANCE FEE", "COMMISSION")), "fees", DEBIT),
        (rng.choice(("ATM WITHDRAWAL", "CASH WITHDRAWAL", "ATM CASH", "CASH MACHINE",
                     "LINK ATM", "NON-CHASE ATM WITHDRAW", "ATM W/D", "CASH")) +
         f" {rng.choice(UK_CITIES + ('',))} {_dmy(rng)}", "transfers", DEBIT),
        (f"{rng.choice(('BARCLAYS', 'HSBC', 'NATWEST', 'LLOYDS', 'SANTANDER', 'CHASE', 'BOFA', 'WELLS FARGO'))} "
         f"ATM {_digits(rng, 4)}", "transfers", DEBIT),
        (rng.choice(("TRANSFER TO SAVINGS", "TFR TO SAVINGS ACCOUNT", "TRANSFER TO ISA",
                     "INTERNET TRANSFER", "ONLINE TRANSFER TO CHK", "ONLINE TRANSFER FROM SAV",
                     "MOBILE TRANSFER", "TRANSFER FROM CURRENT ACCOUNT", "TO MONZO POT",
                     "MONZO POT TRANSFER", "REVOLUT TOP UP", "TOP-UP BY CARD", "FROM SAVINGS",
                     "VANGUARD ISA", "TRADING 212", "ROBINHOOD", "COINBASE", "FIDELITY INVEST",
                     "CHASE CREDIT CRD AUTOPAY", "AMEX EPAYMENT ACH PMT", "BARCLAYCARD PAYMENT",
                     "CREDIT CARD PAYMENT", "PAYMENT THANK YOU", "CAPITAL ONE CRCARDPMT",
                     "KLARNA", "CLEARPAY", "AFTERPAY", "PAYPAL TRANSFER", "ZELLE TO", "ZELLE FROM",
                     "VENMO PAYMENT", "VENMO CASHOUT", "CASH APP", "LOAN REPAYMENT",
                     "STUDENT LOAN REPAYMENT", "CAR FINANCE")) + f" {_digits(rng, rng.choice((0, 4, 8)))}".rstrip(),
         "transfers", rng.choice((DEBIT, CREDIT))),
        (f"{rng.choice(('FASTER PAYMENT TO', 'TRANSFER TO', 'STANDING ORDER TO', 'BANK TRANSFER TO', 'TO'))} "
         f"{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)}", "transfers", DEBIT),
        (f"{rng.choice(('FASTER PAYMENT RECEIVED FROM', 'TRANSFER FROM', 'FROM'))} "
         f"{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)} {rng.choice(('', 'REF DINNER', 'REF RENT SHARE', 'REF THANKS'))}".rstrip(),
         "transfers", CREDIT),
        (f"{rng.choice(('ZELLE PAYMENT TO', 'VENMO *', 'PAYPAL *', 'CASH APP*'))}{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)}",
         "transfers", rng.choice((DEBIT, CREDIT))),
        (rng.choice(("COUNCIL TAX", "LBH COUNCIL TAX", "CITY COUNCIL COUNCIL TAX", "CTAX",
                     "BOROUGH COUNCIL CTAX", "COUNTY PROPERTY TAX", "PROPERTY TAX PMT")) +
         f" {_digits(rng, 8)}", "housing", DEBIT),
        (f"STANDING ORDER TO {rng.choice(SURNAMES)} {rng.choice(('LETTINGS', 'PROPERTIES', 'ESTATES', 'RENT'))} REF RENT",
         "housing", DEBIT),
        (f"{rng.choice(('RENT', 'MONTHLY RENT', 'RENT PAYMENT'))} {rng.choice(PLACES)} {rng.choice(('APTS', 'FLAT', 'HOUSE', ''))}".rstrip(),
         "housing", DEBIT),
        (f"{rng.choice(('NATIONWIDE', 'HALIFAX', 'SANTANDER', 'CHASE', 'WELLS FARGO', 'ROCKET'))} MORTGAGE {_digits(rng, 8)}",
         "housing", DEBIT),
    )


def generate(seed: int = 7, rounds: int = 12, local_per_word: int = 6) -> list[Example]:
    """The synthetic training set: brands, local merchants and special lines, every category.

    ``rounds`` descriptor shapes per brand, ``local_per_word`` invented businesses per generic
    word (each in 2-3 shapes), and ``rounds * 40`` special lines.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    for label, brands in BRANDS.items():
        for brand in brands:
            group = f"gen:{brand}"
            for _ in range(rounds):
                line = _wrap(rng, brand, label, processor_ok=False)
                direction = DEBIT
                if rng.random() < 0.08 and label not in ("gifts_donations", "fees"):
                    line, direction = _refund(rng, line), CREDIT
                out.append(Example(line, label, direction, group, "brand"))
    for label, words in LOCAL_WORDS.items():
        for word in words:
            for _ in range(local_per_word):
                name = _local_name(rng, word)
                group = f"local:{name}"
                for _ in range(rng.randint(2, 3)):
                    line = _wrap(rng, name, label, processor_ok=True)
                    direction = DEBIT
                    if rng.random() < 0.06 and label not in ("gifts_donations",):
                        line, direction = _refund(rng, line), CREDIT
                    out.append(Example(line, label, direction, group, "local"))
    for label, phrases in TYPED.items():
        for phrase in phrases:
            for _ in range(3):
                r = rng.random()
                name = rng.choice(FIRST_NAMES).title()[:-1] if r < 0.3 else ""
                text = f"{phrase} {name}".strip() if r < 0.15 else (
                    f"{phrase} at {name}" if name else phrase)
                direction = CREDIT if label == "income" else DEBIT
                out.append(Example(text.upper(), label, direction, f"typed:{phrase}", "typed"))
    for i in range(rounds * 15):
        for text, label, direction in _special(rng):
            out.append(Example(text, label, direction, f"special:{i % 97}:{label}", "special"))
    return out

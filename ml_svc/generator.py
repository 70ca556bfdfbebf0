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
        "TESCO",
        "TESCO EXPRESS",
        "TESCO STORES",
        "WM MORRISON",
        "MORRISON STORE",
        "SAINSBURYS",
        "SAINSBURY'S S/MKT",
        "ASDA",
        "MORRISONS",
        "WAITROSE",
        "ALDI",
        "LIDL",
        "LIDL GB",
        "CO-OP GROUP",
        "COOP FOOD",
        "ICELAND",
        "M&S SIMPLY FOOD",
        "OCADO",
        "FARMFOODS",
        "BUDGENS",
        "SPAR",
        "NISA LOCAL",
        "ONE STOP",
        "COSTCUTTER",
        "WHOLE FOODS MARKET",
        "WHOLEFDS",
        "TRADER JOE'S",
        "KROGER",
        "SAFEWAY",
        "PUBLIX",
        "WEGMANS",
        "HEB",
        "ALBERTSONS",
        "FOOD LION",
        "GIANT EAGLE",
        "STOP & SHOP",
        "MEIJER",
        "SPROUTS FARMERS MKT",
        "WINCO FOODS",
        "HARRIS TEETER",
        "SHOPRITE",
        "INSTACART",
        "7-ELEVEN",
        "WALMART GROCERY",
        "COSTCO WHSE",
        "SAMS CLUB",
        "BJS WHOLESALE",
        "RALPHS",
        "VONS",
        "FRESH DIRECT",
        "GORILLAS",
        "GETIR",
        "BOOTHS",
        "HOME BARGAINS FOOD",
    ),
    "dining": (
        "STARBUCKS",
        "COSTA COFFEE",
        "PRET A MANGER",
        "CAFFE NERO",
        "GREGGS",
        "MCDONALDS",
        "BURGER KING",
        "KFC",
        "NANDOS",
        "WAGAMAMA",
        "PIZZA EXPRESS",
        "DOMINOS PIZZA",
        "PIZZA HUT",
        "WETHERSPOON",
        "JD WETHERSPOON",
        "LEON",
        "ITSU",
        "WASABI",
        "FIVE GUYS",
        "SUBWAY",
        "TACO BELL",
        "CHIPOTLE",
        "PANERA BREAD",
        "DUNKIN",
        "WENDYS",
        "CHICK-FIL-A",
        "SHAKE SHACK",
        "IN-N-OUT",
        "SWEETGREEN",
        "DELIVEROO",
        "JUST EAT",
        "UBER EATS",
        "DOORDASH",
        "GRUBHUB",
        "POPEYES",
        "DENNYS",
        "IHOP",
        "OLIVE GARDEN",
        "APPLEBEES",
        "TGI FRIDAYS",
        "HONEST BURGERS",
        "DISHOOM",
        "FRANCO MANCA",
        "TORTILLA",
        "BREWDOG",
        "PAUL BAKERY",
        "GAILS BAKERY",
        "BLUE BOTTLE COFFEE",
        "PEETS COFFEE",
        "TIM HORTONS",
        "WINGSTOP",
        "ZIZZI",
        "ASK ITALIAN",
        "BILLS RESTAURANT",
        "HARVESTER",
        "TOBY CARVERY",
        "GERMAN DONER KEBAB",
        "WAHACA",
        "YO SUSHI",
        "BAGEL FACTORY",
    ),
    "transport": (
        "TFL TRAVEL CH",
        "TFL.GOV.UK/CP",
        "TRANSPORT FOR LONDON",
        "UBER TRIP",
        "UBER *TRIP",
        "LYFT *RIDE",
        "BOLT.EU",
        "FREE NOW",
        "ADDISON LEE",
        "TRAINLINE",
        "NATIONAL RAIL",
        "GWR",
        "LNER",
        "AVANTI WEST COAST",
        "SOUTHERN RAIL",
        "NORTHERN TRAINS",
        "SCOTRAIL",
        "STAGECOACH",
        "FIRST BUS",
        "ARRIVA",
        "NATIONAL EXPRESS",
        "SHELL",
        "BP",
        "ESSO",
        "TEXACO",
        "JET",
        "GULF",
        "CHEVRON",
        "EXXONMOBIL",
        "SUNOCO",
        "MARATHON PETRO",
        "VALERO",
        "CIRCLE K",
        "SPEEDWAY",
        "WAWA",
        "RINGGO",
        "PAYBYPHONE",
        "NCP PARKING",
        "JUSTPARK",
        "APCOA",
        "MTA NYC TRANSIT",
        "MBTA",
        "BART",
        "CLIPPER",
        "METRO TRANSIT",
        "SEPTA",
        "WMATA",
        "EZPASS",
        "DART CHARGE",
        "ULEZ",
        "HALFORDS AUTOCENTRE",
        "KWIK FIT",
        "JIFFY LUBE",
        "PEP BOYS",
        "PODPOINT",
        "TESLA SUPERCHARGER",
        "CHARGEPOINT",
        "INSTAVOLT",
        "GREYHOUND",
        "MEGABUS",
        "AMTRAK",
    ),
    "travel": (
        "PREMIER INN",
        "TRAVELODGE",
        "HOLIDAY INN",
        "HILTON HOTELS",
        "MARRIOTT",
        "HYATT",
        "IBIS",
        "AIRBNB",
        "BOOKING.COM",
        "EXPEDIA",
        "HOTELS.COM",
        "BRITISH AIRWAYS",
        "EASYJET",
        "RYANAIR",
        "JET2",
        "VIRGIN ATLANTIC",
        "DELTA AIR",
        "UNITED AIRLINES",
        "AMERICAN AIRLINES",
        "SOUTHWEST AIRLINES",
        "JETBLUE",
        "ALASKA AIRLINES",
        "SPIRIT AIRLINES",
        "LUFTHANSA",
        "KLM",
        "AIR FRANCE",
        "EMIRATES",
        "HERTZ",
        "AVIS",
        "ENTERPRISE RENT-A-CAR",
        "EUROPCAR",
        "SIXT",
        "BUDGET RENT A CAR",
        "TUI",
        "LASTMINUTE.COM",
        "KAYAK",
        "PRICELINE",
        "VRBO",
        "EUROSTAR",
        "BEST WESTERN",
        "RADISSON",
        "CENTER PARCS",
        "P&O FERRIES",
        "TRIP.COM",
    ),
    "shopping": (
        "AMAZON",
        "AMZN MKTP",
        "AMAZON.CO.UK",
        "ARGOS",
        "JOHN LEWIS",
        "MARKS & SPENCER",
        "NEXT",
        "PRIMARK",
        "H&M",
        "ZARA",
        "UNIQLO",
        "ASOS",
        "BOOHOO",
        "SPORTS DIRECT",
        "JD SPORTS",
        "CURRYS",
        "IKEA",
        "DUNELM",
        "TK MAXX",
        "TJ MAXX",
        "MARSHALLS",
        "TARGET",
        "WALMART",
        "BEST BUY",
        "MACYS",
        "NORDSTROM",
        "KOHLS",
        "OLD NAVY",
        "GAP",
        "APPLE STORE",
        "EBAY",
        "ETSY",
        "SHEIN",
        "TEMU",
        "WAYFAIR",
        "HOME DEPOT SUPPLY",
        "WATERSTONES",
        "WHSMITH",
        "BARNES & NOBLE",
        "THE WORKS",
        "SMYTHS TOYS",
        "HOBBYCRAFT",
        "POUNDLAND",
        "B&M RETAIL",
        "HOME BARGAINS",
        "WILKO",
        "DEBENHAMS",
        "SELFRIDGES",
        "NIKE",
        "ADIDAS",
        "FOOT LOCKER",
        "DECATHLON",
        "ROSS STORES",
        "DOLLAR TREE",
        "DOLLAR GENERAL",
        "BED BATH BEYOND",
        "CVS",
        "NEWEGG",
        "STAPLES",
        "RYMAN",
        "OFFICE DEPOT",
        "PANDORA",
        "CLAIRES",
        "THE ENTERTAINER",
    ),
    "subscriptions": (
        "NETFLIX.COM",
        "SPOTIFY",
        "DISNEY PLUS",
        "AMAZON PRIME",
        "PRIME VIDEO",
        "APPLE.COM/BILL",
        "GOOGLE *YOUTUBE",
        "YOUTUBE PREMIUM",
        "GOOGLE STORAGE",
        "GOOGLE PLAY",
        "MICROSOFT*365",
        "ADOBE",
        "DROPBOX",
        "ICLOUD",
        "HULU",
        "HBO MAX",
        "PARAMOUNT+",
        "PEACOCK",
        "NOW TV",
        "AUDIBLE",
        "KINDLE UNLTD",
        "PATREON",
        "OPENAI *CHATGPT",
        "GITHUB",
        "NOTION LABS",
        "CANVA",
        "DUOLINGO",
        "HEADSPACE",
        "CALM.COM",
        "NYTIMES",
        "THE ECONOMIST",
        "FT.COM",
        "SUBSTACK",
        "DAZN",
        "BRITBOX",
        "CRUNCHYROLL",
        "TIDAL",
        "DEEZER",
        "XBOX GAME PASS",
        "PLAYSTATION PLUS",
        "NINTENDO ONLINE",
        "1PASSWORD",
        "NORDVPN",
        "EXPRESSVPN",
        "LINKEDIN PREMIUM",
        "TINDER",
        "BUMBLE",
        "HELLOFRESH",
        "SIRIUSXM",
        "ZOOM.US",
        "SLACK",
    ),
    "utilities": (
        "BRITISH GAS",
        "OCTOPUS ENERGY",
        "EDF ENERGY",
        "E.ON NEXT",
        "OVO ENERGY",
        "SCOTTISH POWER",
        "SSE ENERGY",
        "BULB ENERGY",
        "THAMES WATER",
        "SEVERN TRENT",
        "ANGLIAN WATER",
        "UNITED UTILITIES",
        "YORKSHIRE WATER",
        "SOUTHERN WATER",
        "BT GROUP",
        "BT BROADBAND",
        "SKY DIGITAL",
        "VIRGIN MEDIA",
        "TALKTALK",
        "PLUSNET",
        "HYPEROPTIC",
        "COMMUNITYFIBRE",
        "EE LIMITED",
        "O2",
        "VODAFONE",
        "THREE",
        "GIFFGAFF",
        "TESCO MOBILE",
        "TV LICENCE",
        "TV LICENSING",
        "VERIZON WIRELESS",
        "AT&T",
        "T-MOBILE",
        "COMCAST",
        "XFINITY",
        "SPECTRUM",
        "COX COMM",
        "CON EDISON",
        "PG&E",
        "DUKE ENERGY",
        "FPL",
        "NATIONAL GRID",
        "DOMINION ENERGY",
        "XCEL ENERGY",
        "GEORGIA POWER",
        "CITY WATER DEPT",
        "MINT MOBILE",
        "GOOGLE FI",
        "FRONTIER COMM",
        "OPTIMUM",
        "LEBARA",
        "LYCAMOBILE",
    ),
    "housing": (
        "COUNCIL TAX",
        "LB HACKNEY CTAX",
        "CITY COUNCIL CTAX",
        "FOXTONS",
        "OPENRENT",
        "ZOOPLA",
        "RIGHTMOVE LETTINGS",
        "NATIONWIDE MORTGAGE",
        "HALIFAX MORTGAGE",
        "SANTANDER MORTGAGE",
        "B&Q",
        "WICKES",
        "SCREWFIX",
        "TOOLSTATION",
        "HOMEBASE",
        "HOME DEPOT",
        "LOWES",
        "ACE HARDWARE",
        "MENARDS",
        "RENT PAYMENT",
        "ZILLOW RENT",
        "AVAIL RENT",
        "WELLS FARGO HOME MTG",
        "ROCKET MORTGAGE",
        "CHECKATRADE",
        "RATED PEOPLE",
        "TASKRABBIT",
        "ANGI",
        "RENTOKIL",
        "TRAVIS PERKINS",
        "JEWSON",
        "BUNNINGS",
        "HOA DUES",
        "PROPERTY TAX",
        "COUNTY TAX COLLECTOR",
        "DYNO-ROD",
        "HOMESERVE",
    ),
    "health": (
        "BOOTS",
        "BOOTS PHARMACY",
        "LLOYDS PHARMACY",
        "SUPERDRUG PHARMACY",
        "WELL PHARMACY",
        "SPECSAVERS",
        "VISION EXPRESS",
        "PUREGYM",
        "THE GYM GROUP",
        "DAVID LLOYD",
        "NUFFIELD HEALTH",
        "BUPA DENTAL",
        "MYDENTIST",
        "ANYTIME FITNESS",
        "PLANET FITNESS",
        "EQUINOX",
        "LA FITNESS",
        "24 HOUR FITNESS",
        "ORANGETHEORY",
        "BARRYS",
        "F45 TRAINING",
        "CVS PHARMACY",
        "WALGREENS",
        "RITE AID",
        "GOODRX",
        "KAISER PERMANENTE",
        "QUEST DIAGNOSTICS",
        "LABCORP",
        "CITYMD",
        "ONE MEDICAL",
        "NHS PRESCRIPTION",
        "NHSBSA",
        "BETTER GYM",
        "PELOTON",
        "GOLDS GYM",
        "LA NUT",
        "HOLLAND & BARRETT",
        "GNC",
        "LENSCRAFTERS",
        "ASPEN DENTAL",
    ),
    "entertainment": (
        "ODEON",
        "VUE CINEMAS",
        "CINEWORLD",
        "EVERYMAN CINEMA",
        "PICTUREHOUSE",
        "AMC THEATRES",
        "REGAL CINEMAS",
        "CINEMARK",
        "TICKETMASTER",
        "SEE TICKETS",
        "EVENTBRITE",
        "LIVE NATION",
        "STUBHUB",
        "AXS",
        "DICE.FM",
        "STEAM GAMES",
        "STEAMPOWERED",
        "PLAYSTATION NETWORK",
        "NINTENDO ESHOP",
        "XBOX",
        "EPIC GAMES",
        "GAME DIGITAL",
        "HOLLYWOOD BOWL",
        "TENPIN",
        "MERLIN ENTERTAINMENTS",
        "MADAME TUSSAUDS",
        "LEGOLAND",
        "THORPE PARK",
        "ALTON TOWERS",
        "NATIONAL TRUST",
        "ENGLISH HERITAGE",
        "SIX FLAGS",
        "DAVE & BUSTERS",
        "TOPGOLF",
        "BET365",
        "WILLIAM HILL",
        "PADDY POWER",
        "LADBROKES",
        "NATIONAL LOTTERY",
        "DRAFTKINGS",
        "FANDUEL",
        "ROUNDUP GOLF",
        "ROYAL ALBERT HALL",
        "NATIONAL THEATRE",
        "ESCAPE HUNT",
    ),
    "personal_care": (
        "TONI & GUY",
        "RUSH HAIR",
        "SUPERCUTS",
        "GREAT CLIPS",
        "SPORT CLIPS",
        "HEADMASTERS",
        "SEPHORA",
        "ULTA BEAUTY",
        "SUPERDRUG",
        "THE BODY SHOP",
        "LUSH",
        "SPACE NK",
        "BENEFIT",
        "MAC COSMETICS",
        "BATH & BODY WORKS",
        "BLUE MERCURY",
        "EUROPEAN WAX CENTER",
        "DRYBAR",
        "TREATWELL",
        "FRESHA",
        "BOOKSY",
        "THE ORDINARY",
        "JOHNSONS CLEANERS",
        "TIMPSON",
        "BRAND LAUNDRY",
        "MASSAGE ENVY",
        "HAND & STONE",
        "NAILS INC",
        "REGIS SALON",
        "FANTASTIC SAMS",
        "ROSS SIMONS BEAUTY",
        "CULT BEAUTY",
    ),
    "education": (
        "UDEMY",
        "COURSERA",
        "SKILLSHARE",
        "MASTERCLASS",
        "OPEN UNIVERSITY",
        "UNIVERSITY OF LEEDS",
        "UNIV OF MANCHESTER",
        "KINGS COLLEGE LONDON",
        "UCL",
        "PEARSON",
        "CHEGG",
        "KHAN ACADEMY",
        "EDX",
        "PLURALSIGHT",
        "LINKEDIN LEARNING",
        "BBC BITESIZE",
        "KUMON",
        "SYLVAN LEARNING",
        "BRITISH COUNCIL",
        "BERLITZ",
        "PRINCETON REVIEW",
        "KAPLAN",
        "COLLEGE BOARD",
        "UCAS",
        "STUDENT LOANS CO",
        "NAVIENT",
        "SALLIE MAE",
        "UNIV OF TEXAS",
        "ASU TUITION",
        "BLACKBOARD",
        "SCHOOLPAY",
        "PARENTPAY",
        "SCHOOLMONEY",
        "WISEPAY",
        "ARBOR EDUCATION",
    ),
    "insurance": (
        "AVIVA",
        "DIRECT LINE",
        "ADMIRAL INSURANCE",
        "AXA INSURANCE",
        "LV INSURANCE",
        "HASTINGS DIRECT",
        "CHURCHILL INSURANCE",
        "LEGAL & GENERAL",
        "ZURICH",
        "ROYAL LONDON",
        "VITALITY HEALTH",
        "BUPA",
        "PETPLAN",
        "ESURE",
        "SAGA INSURANCE",
        "MORE THAN",
        "GEICO",
        "PROGRESSIVE INS",
        "STATE FARM",
        "ALLSTATE",
        "LIBERTY MUTUAL",
        "NATIONWIDE INS",
        "FARMERS INS",
        "USAA INSURANCE",
        "LEMONADE INS",
        "METLIFE",
        "PRUDENTIAL",
        "AFLAC",
        "TRAVELERS INS",
        "HISCOX",
        "SIMPLY BUSINESS",
        "COMPARE THE MARKET",
        "GO COMPARE",
        "BLUE CROSS",
        "CIGNA",
        "AETNA",
        "HUMANA",
        "UNITEDHEALTHCARE",
        "OSCAR HEALTH",
    ),
    "gifts_donations": (
        "JUSTGIVING",
        "GOFUNDME",
        "OXFAM",
        "BRITISH RED CROSS",
        "CANCER RESEARCH UK",
        "RSPCA",
        "NSPCC",
        "MACMILLAN CANCER",
        "BRITISH HEART FDN",
        "SAVE THE CHILDREN",
        "UNICEF",
        "AMNESTY INTL",
        "WATERAID",
        "SHELTER",
        "CHILDREN IN NEED",
        "COMIC RELIEF",
        "BARNARDOS",
        "SALVATION ARMY",
        "AMERICAN RED CROSS",
        "ST JUDE CHILDRENS",
        "WIKIMEDIA",
        "DOCTORS WITHOUT",
        "WWF",
        "GREENPEACE",
        "CAF DONATE",
        "BENEVITY",
        "GIVEWELL",
        "CHARITIES AID FDN",
        "MOONPIG",
        "FUNKY PIGEON",
        "INTERFLORA",
        "CARDFACTORY",
        "CARD FACTORY",
        "1-800-FLOWERS",
        "PAPERCHASE",
        "HALLMARK",
        "FLORIST",
        "EDIBLE ARRANGEMENTS",
    ),
    "other": (
        "POST OFFICE",
        "ROYAL MAIL",
        "PARCELFORCE",
        "EVRI",
        "DPD",
        "USPS",
        "UPS",
        "FEDEX",
        "DVLA",
        "HM PASSPORT OFFICE",
        "GOV.UK",
        "HMRC SELF ASSESSMENT",
        "HMRC PAYMENT",
        "IRS USATAXPYMT",
        "DMV",
        "US POSTAL SERVICE",
        "PETS AT HOME",
        "PETCO",
        "PETSMART",
        "CHEWY",
        "VETS4PETS",
        "BIG YELLOW STORAGE",
        "SAFESTORE",
        "PUBLIC STORAGE",
        "REGUS",
        "WEWORK",
        "CITY OF",
        "COURT FEES",
        "COMPANIES HOUSE",
        "TAX COLLECTOR",
        "H&R BLOCK",
        "TURBOTAX",
        "LEGALZOOM",
        "BRIGHT HORIZONS",
        "KINDERCARE",
        "NURSERY FEES",
        "CHILDCARE",
        "COUNTY CLERK",
    ),
}


# More UK/US brands, one string per category (split on "|").
_MORE_BRANDS: dict[str, str] = {
    "groceries": (
        "ICELAND FOODS|CO-OP|THE CO-OPERATIVE|SAINSBURYS LOCAL|TESCO METRO|ASDA "
        "EXPRESS|MARKS&SPENCER FOOD|WAITROSE & PARTNERS|AMAZON FRESH|ABEL & COLE|RIVERFORD|MILK & "
        "MORE|LONDIS|PREMIER STORES|MCCOLLS|BESTWAY|BOOKER|MAKRO|FOOD 4 LESS|PIGGLY "
        "WIGGLY|WINN-DIXIE|HY-VEE|FRED MEYER|SMITHS FOOD|KING SOOPERS|JEWEL-OSCO|ACME "
        "MARKETS|HANNAFORD|MARKET BASKET|FOOD BASICS|GROCERY OUTLET|LIDL US|ALDI US|TARGET "
        "GROCERY|DOLLAR GENERAL MARKET|CIRCLE K STORE"
    ),
    "dining": (
        "PRET|EAT.|CHOPSTIX|CREPEAFFAIRE|BENUGO|WASABI SUSHI|PAPA JOHNS|BURGER & "
        "LOBSTER|BYRON|GBK|GOURMET BURGER KITCHEN|CAFE ROUGE|PREZZO|BELLA ITALIA|FRANKIE & "
        "BENNYS|CHIQUITO|LAS IGUANAS|SLUG AND LETTUCE|ALL BAR ONE|NICHOLSONS|GREENE "
        "KING|MITCHELLS & BUTLERS|STONEGATE|FULLERS|YOUNGS PUB|SAMUEL SMITH|HONEST|PIZZA "
        "PILGRIMS|FLAT IRON|HAWKSMOOR|COAL OFFICE|ROSAS THAI|BANH MI|ABOKADO|TOSSED|LEON "
        "RESTAURANTS|STARBUCKS COFFEE|CARIBOU COFFEE|DUTCH BROS|SONIC DRIVE IN|ARBYS|JACK IN THE "
        "BOX|CARLS JR|WHATABURGER|CULVERS|PANDA EXPRESS|QDOBA|JERSEY MIKES|JIMMY JOHNS|FIREHOUSE "
        "SUBS|BUFFALO WILD WINGS|CHILIS|RED ROBIN|CRACKER BARREL|CHEESECAKE FACTORY|LITTLE "
        "CAESARS|PAPA MURPHYS|CAVA|POTBELLY|NOODLES & CO|WAFFLE HOUSE|KRISPY KREME|BASKIN "
        "ROBBINS|COLD STONE|DAIRY QUEEN|STARBUCKS RESERVE"
    ),
    "transport": (
        "TFL CYCLE HIRE|SANTANDER CYCLES|LIME*RIDE|LIME RIDE|VOI TECHNOLOGY|TIER "
        "MOBILITY|GETT|OLA CABS|VERIFONE TAXI|CMT TAXI|NYC TAXI|CURB MOBILITY|ZIPCAR|ENTERPRISE "
        "CAR CLUB|EVRI PARKING|Q-PARK|EURO CAR PARKS|SABA PARKING|PARKMOBILE|SPOTHERO|LAZ "
        "PARKING|THAMESLINK|SOUTH WESTERN RAILWAY|C2C RAIL|GREATER "
        "ANGLIA|CROSSCOUNTRY|TRANSPENNINE|CHILTERN RAILWAYS|ELIZABETH "
        "LINE|MERSEYRAIL|METROLINK|FIRST WEST OF ENGLAND|LOTHIAN BUSES|NJ "
        "TRANSIT|LIRR|METRA|CALTRAIN|MARTA|CTA "
        "VENTRA|ORCA|SUNPASS|FASTRAK|TXTAG|QUIKTRIP|RACETRAC|SHEETZ|CASEYS GENERAL|PILOT TRAVEL "
        "CENTER|LOVES TRAVEL STOP|BUC-EES|ARCO|PHILLIPS "
        "66|CONOCO|SINCLAIR|MOBIL|MURCO|APPLEGREEN|MOTO SERVICES|WELCOME "
        "BREAK|ROADCHEF|MIDAS|FIRESTONE|DISCOUNT TIRE|VALVOLINE|NATIONAL TYRES|ATS "
        "EUROMASTER|HALFORDS"
    ),
    "travel": (
        "EASYJET HOLIDAYS|BRITISH AIRWAYS HOLIDAYS|WIZZ AIR|NORWEGIAN AIR|AER "
        "LINGUS|LOGANAIR|FLYBE|LOVEHOLIDAYS|ON THE "
        "BEACH|OPODO|SKYSCANNER|EDREAMS|TRIVAGO|AGODA|HOSTELWORLD|SONDER|MARRIOTT BONVOY|HILTON "
        "GARDEN INN|HAMPTON INN|COURTYARD BY MARRIOTT|DOUBLETREE|SHERATON|WESTIN|HOLIDAY INN "
        "EXPRESS|CROWNE PLAZA|NOVOTEL|MERCURE|PREMIER TRAVEL INN|MOTEL 6|LA QUINTA|EXTENDED STAY "
        "AMERICA|RED ROOF INN|CHOICE HOTELS|WYNDHAM|AIRPORT PARKING|HEATHROW EXPRESS|GATWICK "
        "EXPRESS|STANSTED EXPRESS|ALAMO|NATIONAL CAR RENTAL|THRIFTY|DOLLAR RENT A CAR|TURO|GREEN "
        "MOTION|HOLIDAY EXTRAS|ROYAL CARIBBEAN|CARNIVAL CRUISE|NORWEGIAN CRUISE"
    ),
    "shopping": (
        "CURRYS PC WORLD|AO.COM|VERY.CO.UK|LITTLEWOODS|ROBERT DYAS|LAKELAND|THE RANGE|MATALAN|NEW "
        "LOOK|RIVER ISLAND|FAT FACE|WHITE STUFF|JOULES|SUPERDRY|ALL SAINTS|REISS|TED "
        "BAKER|MONSOON|ACCESSORIZE|CLARKS|SCHUH|OFFICE SHOES|DUNE|MOSS BROS|BURTON|DOROTHY "
        "PERKINS|HOBBS|BODEN|SEASALT|SPORTS DIRECT.COM|GO OUTDOORS|BLACKS|MOUNTAIN "
        "WAREHOUSE|CRAGHOPPERS|APPLE STORE REGENT ST|SAMSUNG|ARGOS EBAY|CEX|GAME "
        "STORES|HMV|FOYLES|BLACKWELLS|HATCHARDS|ANTHROPOLOGIE|URBAN OUTFITTERS|J CREW|BANANA "
        "REPUBLIC|ABERCROMBIE|AMERICAN EAGLE|HOLLISTER|FOREVER "
        "21|BURLINGTON|DILLARDS|JCPENNEY|SAKS|BLOOMINGDALES|NEIMAN MARCUS|ZAPPOS|CHEWY.COM "
        "ORDER|QVC|HSN|WISH.COM|ALIEXPRESS|LEGO|BUILD-A-BEAR|MICHAELS|JOANN|HOBBY LOBBY|BEST BUY "
        "MKTPLACE|GAMESTOP|WILLIAMS SONOMA|POTTERY BARN|CRATE & BARREL|WEST "
        "ELM|HABITAT|HEALS|MADE.COM|LOAF|OKA|SOFOLOGY|DFS|SCS|FURNITURE VILLAGE|BENSONS FOR "
        "BEDS|DREAMS"
    ),
    "subscriptions": (
        "AMAZON PRIME*|AMZN PRIME|AUDIBLE UK|SPOTIFY UK|SPOTIFY USA|APPLE MUSIC|APPLE TV|APPLE "
        "ONE|ICLOUD STORAGE|GOOGLE ONE|GOOGLE *GOOGLE ONE|YOUTUBE TV|SLING TV|FUBOTV|ESPN "
        "PLUS|MAX.COM|STARZ|SHOWTIME|MUBI|CURZON HOME CINEMA|SKY GO|NOW BROADBAND TV|ITVX|CHANNEL "
        "4|GUARDIAN MEDIA|THE TIMES|TELEGRAPH MEDIA|WSJ|WASHINGTON "
        "POST|MEDIUM.COM|GRAMMARLY|EVERNOTE|TODOIST|LASTPASS|BITWARDEN|SURFSHARK|PROTON|FASTMAIL|SQUARESPACE|WIX.COM|GODADDY|NAMECHEAP|SHOPIFY "  # noqa: E501
        "SUBSCRIPTION|ADOBE CREATIVE CLOUD|MICROSOFT XBOX|EA "
        "PLAY|UBISOFT+|STRAVA|MYFITNESSPAL|NOOM|PELOTON "
        "APP|CLASSPASS|MIDJOURNEY|ANTHROPIC|CLAUDE.AI|CHATGPT SUBSCRIPTION|GITHUB "
        "SPONSORS|JETBRAINS|ATLASSIAN|FIGMA|LOOM|CALENDLY|ZOOM VIDEO"
    ),
    "utilities": (
        "BRITISH GAS SERVICES|OVO|E.ON|EON ENERGY|EDF|SHELL ENERGY|UTILITA|SO ENERGY|GOOD "
        "ENERGY|ECOTRICITY|OCTOPUS|NORTHUMBRIAN WATER|WESSEX WATER|SOUTH WEST WATER|WELSH "
        "WATER|DWR CYMRU|SCOTTISH WATER|AFFINITY WATER|SES WATER|SOUTH EAST WATER|BT PLC|VIRGIN "
        "MEDIA O2|SKY UK|SKY BROADBAND|VODAFONE UK|O2 UK|EE|SMARTY|VOXI|ID MOBILE|SHELL "
        "BROADBAND|ZEN INTERNET|GIGACLEAR|YOUFIBRE|TV LICENSING DD|SOUTHERN CALIFORNIA "
        "EDISON|SDG&E|PSEG|EVERSOURCE|AMEREN|ENTERGY|APS ELECTRIC|SRP|CENTERPOINT "
        "ENERGY|SOCALGAS|PECO|COMED|DTE ENERGY|CONSUMERS ENERGY|WASTE MANAGEMENT|REPUBLIC "
        "SERVICES|VERIZON FIOS|CRICKET WIRELESS|METRO BY T-MOBILE|BOOST MOBILE|VISIBLE|US "
        "CELLULAR|STARLINK"
    ),
    "housing": (
        "LANDBAY|ACCORD MORTGAGES|COVENTRY BS MORTGAGE|YORKSHIRE BS MORTGAGE|NATWEST "
        "MORTGAGE|BARCLAYS MORTGAGE|HSBC MORTGAGE|LLOYDS MORTGAGE|TSB MORTGAGE|VIRGIN MONEY "
        "MORTGAGE|GRAINGER|GET LIVING|QUINTAIN LIVING|DEXTERS|KFH|HAMPTONS|SAVILLS "
        "LETTINGS|CHESTERTONS|WINKWORTH|CONNELLS|SPENCER HOUSE|HOMEBASE LTD|WICKES "
        "BUILDING|SELCO|B&Q WAREHOUSE|TOPPS TILES|WALLPAPERDIRECT|DULUX DECORATOR|BRITISH GAS "
        "HOMECARE|DOMESTIC & GENERAL|AIRTASKER|HOUSEKEEP|HELPLING|MR "
        "HANDYMAN|ROTO-ROOTER|TERMINIX|ORKIN|TRUGREEN|BRIGHTVIEW|HOA "
        "PAYMENT|APARTMENTS.COM|RENTCAFE|YARDI|APPFOLIO|BILT RENT|QUICKEN LOANS|MR COOPER|FREEDOM "
        "MORTGAGE|PENNYMAC|CHASE MORTGAGE"
    ),
    "health": (
        "SUPERDRUG HEALTH|ROWLANDS PHARMACY|DAY LEWIS|JHOOTS|PHARMACY2U|ECHO PHARMACY|ASDA "
        "PHARMACY|BOOTS OPTICIANS|OPTICAL EXPRESS|LENSTORE|BUPA CROMWELL|SPIRE HEALTHCARE|HCA "
        "HEALTHCARE|CIRCLE HEALTH|BABYLON HEALTH|LIVI|PUSH DOCTOR|THE DENTAL SURGERY|PORTMAN "
        "DENTAL|GYMBOX|FITNESS FIRST|VIRGIN ACTIVE|SNAP FITNESS|JD GYMS|XERCISE4LESS|EVERYONE "
        "ACTIVE|GLL BETTER|1REBEL|PSYCLE|SOULCYCLE|CRUNCH FITNESS|LIFE TIME "
        "FITNESS|YMCA|CVS/PHARMACY|DUANE READE|KROGER PHARMACY|EXPRESS SCRIPTS|OPTUM "
        "RX|TELADOC|ZOCDOC|MINUTECLINIC|GOHEALTH URGENT CARE|WARBY PARKER|1-800 "
        "CONTACTS|HIMS|HERS|ROMAN|NUTRITIONIST"
    ),
    "entertainment": (
        "CINEWORLD UNLIMITED|SHOWCASE CINEMAS|CURZON CINEMAS|THE LIGHT CINEMA|ODEON "
        "LUXE|EVERYMAN|PRINCE CHARLES CINEMA|BFI|SOUTHBANK CENTRE|BARBICAN|O2 ACADEMY|ACADEMY "
        "MUSIC GROUP|SKIDDLE|FATSOMA|TICKETWEB|GIGANTIC|ATG TICKETS|LOVE THEATRE|TODAYTIX|DELFONT "
        "MACKINTOSH|NIMAX|LONDON THEATRE DIRECT|NATIONAL GALLERY|SCIENCE MUSEUM|TATE|V&A|KEW "
        "GARDENS|LONDON ZOO|ZSL|CHESSINGTON|BLACKPOOL PLEASURE BEACH|WARNER BROS STUDIO|SEA "
        "LIFE|FLIGHT CLUB|PUTTSHACK|BOOM BATTLE BAR|ALL STAR LANES|BOWLPLEX|NAMCO FUNSCAPE|GO "
        "APE|CLIMBING HANGAR|SKY BET|BETFAIR|CORAL|BETFRED|SPORTY BET|POKERSTARS|FANATICS|EPIC "
        "GAMES STORE|RIOT GAMES|BLIZZARD|ROBLOX|TWITCH|PATREON MEMBERSHIP|REGAL|MARCUS "
        "THEATRES|ALAMO DRAFTHOUSE|FANDANGO|VIVID SEATS|SEATGEEK|MLB.COM|NFL SHOP|NBA LEAGUE "
        "PASS|UNIVERSAL STUDIOS|DISNEYLAND|BUSCH GARDENS|CEDAR POINT|MAIN EVENT|ROUND1|CHUCK E "
        "CHEESE"
    ),
    "personal_care": (
        "BLUEBELL HAIR|HEADMASTERS SALON|SASSOON|JOHN FRIEDA|CHARLES WORTHINGTON|BLUSH AND "
        "BLOW|WAXOLOGY|STRIP WAX BAR|BENEFIT BROW BAR|SHOWSTOPPER NAILS|WAH "
        "NAILS|NAILS.INC|SEPHORA UK|LOOKFANTASTIC|BEAUTY BAY|FEELUNIQUE|BOOTS NO7|CHARLOTTE "
        "TILBURY|KIEHLS|CLINIQUE|ESTEE LAUDER|ORIGINS|L'OCCITANE|MOLTON BROWN|NEAL'S "
        "YARD|ESPA|SIX SENSES SPA|BANNATYNE SPA|CHAMPNEYS|MASSAGE HEAVEN|JOHNSONS DRY "
        "CLEANERS|THE LAUNDRY|LAUNDRAPP|ZIPJET|HELLO CLEAN|DRYCLEANING4U|GREAT CLIPS INC|SALON "
        "LOFTS|HAIR CUTTERY|COST CUTTERS|MADISON REED|GLOSSIER|FENTY BEAUTY|BIRCHBOX|IPSY|HANDS & "
        "STONE|THE JOINT|DRY BAR"
    ),
    "education": (
        "OPEN UNIVERSITY FEES|UNIVERSITY OF OXFORD|UNIVERSITY OF CAMBRIDGE|IMPERIAL "
        "COLLEGE|LSE|UNIVERSITY OF EDINBURGH|UNIVERSITY OF BRISTOL|UNIVERSITY OF "
        "BIRMINGHAM|UNIVERSITY OF GLASGOW|UNIVERSITY OF NOTTINGHAM|NYU|COLUMBIA "
        "UNIVERSITY|HARVARD|STANFORD|UCLA|UC BERKELEY|BOSTON UNIVERSITY|UNIVERSITY OF "
        "MICHIGAN|COMMUNITY COLLEGE|CITY & GUILDS|ABRSM|TRINITY COLLEGE LONDON|THE TUTOR "
        "TRUST|MYTUTOR|TUTORFUL|EXPLORE LEARNING|BRIGHT HORIZONS "
        "TUTORING|CODECADEMY|DATACAMP|BRILLIANT.ORG|BABBEL|ROSETTA "
        "STONE|MEMRISE|QUIZLET|CAMBRIDGE ENGLISH|IELTS|ETS TOEFL|PEARSON "
        "VUE|PROMETRIC|AQA|EDEXCEL|OCR EXAMS|WYZANT|VARSITY TUTORS|KAPLAN TEST "
        "PREP|MATHNASIUM|HUNTINGTON LEARNING|CLASSDOJO|SCOPAY|TUITION FEES"
    ),
    "insurance": (
        "AVIVA LIFE|AXA PPP|VITALITY LIFE|SCOTTISH WIDOWS|PHOENIX LIFE|ALLIANZ|RSA INSURANCE|NFU "
        "MUTUAL|ENDSLEIGH|TESCO BANK INSURANCE|ADMIRAL|ELEPHANT INSURANCE|DIAL "
        "DIRECT|SWINTON|AGEAS|TOGETHER INSURANCE|BY MILES|MARSHMALLOW|ZEGO|CUVVA|MULBERRY "
        "INSURANCE|PETSURE|ANIMAL FRIENDS|AGRIA PET|HISCOX UK|STAYSURE|POST OFFICE "
        "INSURANCE|COVER-MORE|WORLD NOMADS|ROOT INSURANCE|METROMILE|ESURANCE|AMICA|THE "
        "HARTFORD|AMERICAN FAMILY INS|ERIE INSURANCE|KEMPER|MERCURY INSURANCE|SAFECO|NATIONAL "
        "GENERAL|AAA INSURANCE|ANTHEM|KAISER INSURANCE|BLUE SHIELD|AMBETTER|MOLINA|NORTHWESTERN "
        "MUTUAL|NEW YORK LIFE|MASSMUTUAL|TRANSAMERICA|JOHN HANCOCK|GUARDIAN LIFE|LINCOLN "
        "FINANCIAL|PRINCIPAL LIFE|POLICYGENIUS|HAVEN LIFE|ASSURANT|SQUARETRADE|ALLSTATE "
        "PROTECTION"
    ),
    "gifts_donations": (
        "MIND CHARITY|SAMARITANS|CRISIS UK|ALZHEIMERS SOCIETY|DOGS TRUST|CATS "
        "PROTECTION|BATTERSEA|RNLI|NATIONAL TRUST DONATION|MARIE CURIE|SUE RYDER|ACTION FOR "
        "CHILDREN|TEENAGE CANCER TRUST|GREAT ORMOND STREET|STAND UP TO CANCER|ROYAL BRITISH "
        "LEGION|HELP FOR HEROES|AGE UK|ST JOHN AMBULANCE|DEC APPEAL|PLAN "
        "INTERNATIONAL|ACTIONAID|CHRISTIAN AID|ISLAMIC RELIEF|TEARFUND|MEDECINS SANS "
        "FRONTIERES|NATURE CONSERVANCY|SIERRA CLUB|ACLU|PLANNED PARENTHOOD|FEEDING "
        "AMERICA|HABITAT FOR HUMANITY|UNITED WAY|MAKE-A-WISH|SPCA|ASPCA|HUMANE SOCIETY|CHARITY "
        "WATER|KIVA|DONORSCHOOSE|ACTBLUE|WINRED|PAYPAL GIVING FUND|VIRGIN MONEY "
        "GIVING|ENTHUSE|GIVEALITTLE|BLOOM & WILD|SERENATA FLOWERS|PRESTIGE "
        "FLOWERS|FTD|PROFLOWERS|TEDDY BEAR|NOT ON THE HIGH STREET|PROZIS GIFT|GIFT CARD "
        "MALL|THORTONS|HOTEL CHOCOLAT"
    ),
    "other": (
        "ROYAL MAIL GROUP|POST OFFICE LTD|PARCEL2GO|DHL EXPRESS|YODEL|HERMES "
        "PARCELNET|COLLECT+|INPOST|UPS STORE|FEDEX OFFICE|STAMPS.COM|PIRATE SHIP|DVLA VEHICLE "
        "TAX|DVSA|HM COURTS|TV LICENCE FINE|HOME OFFICE VISA|UKVI|US PASSPORT|USCIS|DEPT OF "
        "STATE|SECRETARY OF STATE|CITY OF NEW YORK|NYC FINANCE|DEPT OF MOTOR VEHICLES|IRS "
        "PAYMENT|HMRC VAT|HMRC PAYE|FRANCHISE TAX BOARD|JACKSON HEWITT|LIBERTY "
        "TAX|QUICKBOOKS|XERO|FREEAGENT|SAGE ACCOUNTING|ROCKET LAWYER|CO-OP FUNERALCARE|DIGNITY "
        "FUNERALS|BARKING MAD|ROVER.COM|WAG WALKING|BARKBOX|JOLLYES|PETS CORNER|MEDIVET|BANFIELD "
        "PET HOSPITAL|VCA ANIMAL HOSPITAL|BLUE CROSS VET|LOVESPACE|STORAGE KING|EXTRA SPACE "
        "STORAGE|CUBESMART|U-HAUL|PODS|TWO MEN AND A "
        "TRUCK|ANYVAN|MINTED|VISTAPRINT|SNAPFISH|PHOTOBOX|PRINTING.COM|WEWORK "
        "MEMBERSHIP|SPACES|INDUSTRIOUS|THE OFFICE GROUP|CARE.COM|SITTERCITY|CHILDCARE "
        "CHOICES|TAX-FREE CHILDCARE|NURSERY SCHOOL FEES|KUMON NURSERY"
    ),
}
for _label, _names in _MORE_BRANDS.items():
    _known = set(BRANDS[_label])
    BRANDS[_label] = BRANDS[_label] + tuple(n for n in _names.split("|") if n and n not in _known)

# Display names where title case would be wrong.
CANONICAL: dict[str, str] = {
    "TFL TRAVEL CH": "TfL",
    "TFL.GOV.UK/CP": "TfL",
    "TRANSPORT FOR LONDON": "TfL",
    "UBER TRIP": "Uber",
    "UBER *TRIP": "Uber",
    "LYFT *RIDE": "Lyft",
    "AMZN MKTP": "Amazon",
    "AMAZON.CO.UK": "Amazon",
    "SAINSBURY'S S/MKT": "Sainsbury's",
    "SAINSBURYS": "Sainsbury's",
    "MCDONALDS": "McDonald's",
    "NANDOS": "Nando's",
    "WHOLEFDS": "Whole Foods Market",
    "NETFLIX.COM": "Netflix",
    "APPLE.COM/BILL": "Apple",
    "GOOGLE *YOUTUBE": "YouTube",
    "MICROSOFT*365": "Microsoft 365",
    "OPENAI *CHATGPT": "OpenAI",
    "BP": "BP",
    "KFC": "KFC",
    "H&M": "H&M",
    "EE LIMITED": "EE",
    "O2": "O2",
    "BT GROUP": "BT",
    "BT BROADBAND": "BT",
    "AT&T": "AT&T",
    "PG&E": "PG&E",
    "FPL": "FPL",
    "B&Q": "B&Q",
    "UCL": "UCL",
    "IHOP": "IHOP",
    "CVS": "CVS",
    "GNC": "GNC",
    "DPD": "DPD",
    "UPS": "UPS",
    "USPS": "USPS",
    "DVLA": "DVLA",
    "TK MAXX": "TK Maxx",
    "TJ MAXX": "TJ Maxx",
    "COSTCO WHSE": "Costco",
    "JD WETHERSPOON": "Wetherspoon",
}


def canonical(brand: str) -> str:
    """How a brand of :data:`BRANDS` is shown."""
    return CANONICAL.get(brand) or brand.title().replace("'S", "'s")


# Typed quick-add words per category ("latte", "croissant"): what people write without a shop.
TYPED: dict[str, tuple[str, ...]] = {
    "groceries": (
        "groceries",
        "food shop",
        "weekly shop",
        "milk",
        "bread",
        "eggs",
        "veg",
        "supermarket",
        "food shopping",
        "wine for home",
        "cleaning stuff",
    ),
    "dining": (
        "latte",
        "coffee",
        "cappuccino",
        "flat white",
        "croissant",
        "pastry",
        "lunch",
        "dinner",
        "breakfast",
        "brunch",
        "takeaway",
        "pizza",
        "burger",
        "sushi",
        "drinks",
        "pints",
        "beers",
        "cocktails",
        "sandwich",
        "meal deal",
        "curry",
        "kebab",
        "tea and cake",
        "ice cream",
        "dinner out",
        "snack",
    ),
    "transport": (
        "taxi",
        "cab",
        "uber home",
        "bus",
        "bus fare",
        "train",
        "train ticket",
        "tube",
        "petrol",
        "fuel",
        "diesel",
        "parking",
        "car park",
        "toll",
        "oyster top up",
        "metro card",
        "car wash",
        "mot",
        "tyres",
    ),
    "travel": (
        "flight",
        "flights",
        "hotel",
        "airbnb",
        "hostel",
        "holiday",
        "car hire",
        "plane tickets",
        "hotel night",
    ),
    "shopping": (
        "clothes",
        "shoes",
        "jeans",
        "t-shirt",
        "jacket",
        "headphones",
        "phone case",
        "charger",
        "book",
        "lamp",
        "homewares",
        "new dress",
        "trainers",
        "backpack",
    ),
    "subscriptions": (
        "netflix subscription",
        "spotify premium",
        "app subscription",
        "cloud storage",
        "streaming",
        "magazine subscription",
        "vpn",
    ),
    "utilities": (
        "electric bill",
        "gas bill",
        "water bill",
        "broadband",
        "phone bill",
        "internet bill",
        "mobile top up",
        "energy bill",
        "tv licence",
    ),
    "housing": (
        "rent",
        "mortgage",
        "council tax",
        "plumber",
        "electrician",
        "locksmith",
        "boiler repair",
        "paint for bedroom",
        "new tap",
        "builder",
    ),
    "health": (
        "prescription",
        "pharmacy",
        "paracetamol",
        "dentist",
        "doctor",
        "physio",
        "gym",
        "gym membership",
        "yoga class",
        "contact lenses",
        "eye test",
        "vitamins",
    ),
    "entertainment": (
        "cinema",
        "cinema tickets",
        "movie",
        "concert",
        "gig tickets",
        "theatre",
        "bowling",
        "video game",
        "museum",
        "football tickets",
        "comedy show",
    ),
    "personal_care": (
        "haircut",
        "barber",
        "nails",
        "manicure",
        "hairdresser",
        "shampoo",
        "makeup",
        "massage",
        "dry cleaning",
        "eyebrows",
        "wax",
    ),
    "education": (
        "tuition",
        "course",
        "textbooks",
        "school fees",
        "online course",
        "driving lesson",
        "piano lesson",
        "exam fee",
        "tutor",
    ),
    "insurance": (
        "car insurance",
        "home insurance",
        "travel insurance",
        "pet insurance",
        "life insurance",
        "phone insurance",
    ),
    "fees": ("bank fee", "overdraft fee", "late fee", "atm fee", "parking fine", "card fee"),
    "income": ("salary", "paycheck", "wages", "bonus", "tax refund", "interest"),
    "transfers": (
        "transfer to savings",
        "cash withdrawal",
        "atm",
        "paid back sam",
        "sent money to mum",
        "credit card payment",
        "savings",
    ),
    "gifts_donations": (
        "birthday present",
        "gift",
        "wedding gift",
        "charity donation",
        "donation",
        "flowers for mum",
        "christmas presents",
        "sponsorship",
    ),
    "other": (
        "postage",
        "stamps",
        "vet",
        "dog food",
        "passport renewal",
        "solicitor",
        "childcare",
        "storage unit",
        "printing",
    ),
}


# ---- local businesses: owner/place names + the generic word that carries the signal ---------

SURNAMES = [
    "SMITH",
    "JONES",
    "TAYLOR",
    "BROWN",
    "WILLIAMS",
    "WILSON",
    "JOHNSON",
    "DAVIES",
    "ROBINSON",
    "WRIGHT",
    "THOMPSON",
    "EVANS",
    "WALKER",
    "WHITE",
    "ROBERTS",
    "GREEN",
    "HALL",
    "WOOD",
    "JACKSON",
    "CLARKE",
    "PATEL",
    "KHAN",
    "SINGH",
    "AHMED",
    "ALI",
    "MURPHY",
    "KELLY",
    "OBRIEN",
    "GARCIA",
    "MARTINEZ",
    "RODRIGUEZ",
    "LOPEZ",
    "NGUYEN",
    "KIM",
    "CHEN",
    "WONG",
    "LEE",
    "MILLER",
    "DAVIS",
    "ANDERSON",
    "MOORE",
    "MARTIN",
    "HARRIS",
    "LEWIS",
    "YOUNG",
    "KING",
    "SCOTT",
    "HILL",
    "ADAMS",
    "BAKER",
    "NELSON",
    "CARTER",
    "MITCHELL",
    "PEREZ",
    "TURNER",
    "PHILLIPS",
    "CAMPBELL",
    "PARKER",
    "COLLINS",
    "STEWART",
    "MORRIS",
    "ROGERS",
    "REED",
    "COOK",
    "MORGAN",
    "BELL",
    "BAILEY",
    "COOPER",
    "HOWARD",
    "WARD",
    "FOX",
    "HUGHES",
    "PRICE",
    "BENNETT",
    "GRAY",
    "JAMES",
    "REYES",
    "HUGHES",
    "FISHER",
    "HUNT",
    "PALMER",
    "MASON",
    "KNIGHT",
    "ROSS",
    "HENDERSON",
    "FLETCHER",
    "PEARSON",
    "STONE",
    "RILEY",
    "SHAW",
    "OKAFOR",
    "ADEYEMI",
    "KOWALSKI",
    "NOWAK",
    "ROSSI",
    "ESPOSITO",
    "MULLER",
    "SCHMIDT",
    "DUBOIS",
    "SILVA",
    "COSTA",
    "YILMAZ",
]
FIRST_NAMES = [
    "JOES",
    "KEVS",
    "MAYAS",
    "DAVES",
    "SAMS",
    "TONYS",
    "MARIAS",
    "ANNAS",
    "MIKES",
    "JIMMYS",
    "LUCYS",
    "ROSIES",
    "BENS",
    "TOMS",
    "NICKS",
    "ALIS",
    "PAULS",
    "SUES",
    "JACKS",
    "HARRYS",
    "OLLIES",
    "PRIYAS",
    "RAJS",
    "MOS",
    "LEOS",
    "NINAS",
    "CARLOS",
    "ZOES",
    "FREDDIES",
    "BELLAS",
    "GINOS",
    "LUIGIS",
    "MARCOS",
    "STEVES",
    "DANNYS",
    "CHARLIES",
    "ELLIES",
    "KATES",
    "AMYS",
    "GEORGES",
]
PLACES = [
    "HIGH STREET",
    "MARKET STREET",
    "STATION ROAD",
    "CHURCH LANE",
    "KINGS ROAD",
    "MILL LANE",
    "PARK ROAD",
    "RIVERSIDE",
    "HILLSIDE",
    "VILLAGE",
    "TOWN CENTRE",
    "CORNER",
    "BRIDGE STREET",
    "MAIN STREET",
    "ELM STREET",
    "OAK AVENUE",
    "MAPLE",
    "CEDAR",
    "WILLOW",
    "HARBOUR",
    "ABBEY",
    "CASTLE",
    "PRIORY",
    "MEADOW",
    "ORCHARD",
    "EASTGATE",
    "NORTHSIDE",
    "SOUTHSIDE",
    "WESTEND",
    "DOWNTOWN",
    "UPTOWN",
    "MIDTOWN",
    "BAYSIDE",
    "LAKESIDE",
    "GREENWOOD",
    "BRIXTON",
    "HACKNEY",
    "CLAPHAM",
    "PECKHAM",
    "SOHO",
    "CAMDEN",
    "LEITH",
    "JESMOND",
    "HEADINGLEY",
    "DIDSBURY",
    "ANCOATS",
    "CLIFTON",
    "BEDMINSTER",
    "BROOKLYN",
    "ASTORIA",
    "WILLIAMSBURG",
    "MISSION",
    "CAPITOL HILL",
    "FULHAM",
    "BALHAM",
    "PUTNEY",
    "HAMPSTEAD",
    "HIGHGATE",
    "ISLINGTON",
    "SHOREDITCH",
    "DALSTON",
    "WALTHAMSTOW",
]
ADJECTIVES = [
    "GOLDEN",
    "RED",
    "BLUE",
    "GREEN",
    "ROYAL",
    "OLD",
    "NEW",
    "LITTLE",
    "BIG",
    "HAPPY",
    "LUCKY",
    "CROWN",
    "STAR",
    "SUNRISE",
    "SUNSHINE",
    "SILVER",
    "ORIGINAL",
    "FAMILY",
    "CITY",
    "COUNTRY",
    "FRIENDLY",
    "URBAN",
    "MODERN",
    "CLASSIC",
    "PREMIER",
    "PRIME",
    "BEST",
    "FIRST",
    "UNITED",
    "SUPREME",
    "ELITE",
    "SIMPLY",
    "PURE",
    "FRESH",
    "GOOD",
    "WILD",
    "BRIGHT",
]

# Generic words per category: small local businesses. "{X}" is replaced by a name part.
LOCAL_WORDS: dict[str, tuple[str, ...]] = {
    "groceries": (
        "SUPERMARKET",
        "MINI MARKET",
        "MINIMARKET",
        "GROCERY",
        "GROCERS",
        "GROCERIES",
        "FOOD STORE",
        "FOODS",
        "BUTCHERS",
        "BUTCHER",
        "FAMILY BUTCHER",
        "FISHMONGER",
        "GREENGROCER",
        "FRUIT & VEG",
        "FARM SHOP",
        "CONVENIENCE STORE",
        "CONVENIENCE",
        "OFF LICENCE",
        "OFF LICENSE",
        "LIQUOR STORE",
        "WINE SHOP",
        "ORGANIC MARKET",
        "FOOD MARKET",
        "FARMERS MARKET",
        "HALAL MEAT",
        "ASIAN SUPERMARKET",
        "NEWSAGENTS",
        "CORNER SHOP",
        "BODEGA",
        "DELI & GROCERY",
        "FOOD CENTRE",
        "CASH & CARRY",
        "STORES LTD",
        "PRODUCE",
        "MEATS",
        "CHEESE SHOP",
        "DAIRY",
    ),
    "dining": (
        "CAFE",
        "COFFEE",
        "COFFEE SHOP",
        "COFFEE HOUSE",
        "ESPRESSO BAR",
        "ROASTERS",
        "BAKERY",
        "PATISSERIE",
        "RESTAURANT",
        "PIZZA",
        "PIZZERIA",
        "KEBAB",
        "KEBAB HOUSE",
        "FISH BAR",
        "FISH & CHIPS",
        "CHIPPY",
        "TAKEAWAY",
        "GRILL",
        "DINER",
        "BISTRO",
        "BRASSERIE",
        "TAVERN",
        "PUB",
        "ARMS",
        "BAR",
        "KITCHEN",
        "NOODLE BAR",
        "SUSHI",
        "THAI",
        "CURRY HOUSE",
        "TANDOORI",
        "INDIAN CUISINE",
        "BURGERS",
        "TACOS",
        "TAQUERIA",
        "BBQ",
        "SMOKEHOUSE",
        "DELI",
        "CANTEEN",
        "EATERY",
        "TEA ROOM",
        "TEAROOMS",
        "GELATO",
        "ICE CREAM",
        "DONUTS",
        "BAGELS",
        "RAMEN",
        "DIM SUM",
        "CHINESE TAKEAWAY",
        "WOK",
        "TRATTORIA",
        "CANTINA",
        "STEAKHOUSE",
        "BREWERY",
        "TAPROOM",
        "WINE BAR",
        "COCKTAIL BAR",
        "SANDWICH BAR",
        "JUICE BAR",
        "FRIED CHICKEN",
        "PERI PERI",
        "SEAFOOD",
        "OYSTER BAR",
        "CREPERIE",
        "LOUNGE",
        "INN PUB",
        "ALEHOUSE",
        "PHO",
        "BANH MI",
        "DUMPLING HOUSE",
        "FALAFEL",
        "SHAWARMA",
        "BURRITOS",
        "POKE",
        "GYROS",
        "MEZE",
        "TAPAS",
        "OSTERIA",
        "BRUNCH",
        "BUFFET",
        "HOT POT",
        "WINGS",
        "BUBBLE TEA",
        "MEXICAN GRILL",
        "CHICKEN SHOP",
        "PIE SHOP",
    ),
    "transport": (
        "TAXI",
        "TAXIS",
        "CABS",
        "CARS",
        "MINICABS",
        "PRIVATE HIRE",
        "CAR PARK",
        "PARKING",
        "PETROL",
        "PETROL STATION",
        "FILLING STATION",
        "SERVICE STATION",
        "FUEL",
        "GAS STATION",
        "AUTO REPAIR",
        "AUTO SERVICE",
        "GARAGE",
        "MOT CENTRE",
        "MOT",
        "TYRES",
        "TIRE & AUTO",
        "CAR WASH",
        "HAND CAR WASH",
        "VALETING",
        "COACHES",
        "BUS",
        "RAILWAY",
        "TRANSIT",
        "TOLL",
        "TOLL BRIDGE",
        "EV CHARGING",
        "MOTORS",
        "AUTO PARTS",
        "BODY SHOP AUTO",
        "EXHAUST",
        "BRAKES",
        "LUBE",
        "FERRY",
        "BIKE SHOP",
        "CYCLES",
    ),
    "travel": (
        "HOTEL",
        "HOTELS",
        "GUEST HOUSE",
        "GUESTHOUSE",
        "B&B",
        "BED & BREAKFAST",
        "HOSTEL",
        "INN HOTEL",
        "LODGE",
        "RESORT",
        "MOTEL",
        "SUITES",
        "AIRWAYS",
        "AIRLINES",
        "AIR",
        "CAR HIRE",
        "CAR RENTAL",
        "VAN HIRE",
        "TRAVEL",
        "TRAVEL AGENTS",
        "HOLIDAYS",
        "TOURS",
        "CAMPSITE",
        "CARAVAN PARK",
        "HOLIDAY PARK",
        "COTTAGES",
        "VILLAS",
        "CRUISES",
        "APARTMENTS",
        "SERVICED APTS",
    ),
    "shopping": (
        "BOUTIQUE",
        "CLOTHING",
        "FASHION",
        "SHOES",
        "FOOTWEAR",
        "JEWELLERS",
        "JEWELERS",
        "GIFT SHOP",
        "BOOKSHOP",
        "BOOKS",
        "BOOKSTORE",
        "ELECTRONICS",
        "COMPUTERS",
        "PHONE REPAIR",
        "MOBILE PHONES",
        "TOYS",
        "TOY SHOP",
        "HOMEWARE",
        "HOMEWARES",
        "FURNITURE",
        "INTERIORS",
        "DEPARTMENT STORE",
        "OUTLET",
        "STATIONERS",
        "STATIONERY",
        "ART SUPPLIES",
        "VINTAGE",
        "THRIFT",
        "SPORTS",
        "OUTDOORS",
        "CAMERAS",
        "RECORDS",
        "MUSIC SHOP",
        "FABRICS",
        "HABERDASHERY",
        "KITCHENWARE",
        "LIGHTING",
        "RUGS",
        "DISCOUNT STORE",
        "POUND SHOP",
        "VARIETY STORE",
        "GENERAL STORE",
        "EMPORIUM",
        "TRADING CO",
        "APPAREL",
        "MENSWEAR",
        "BRIDAL",
        "OPTICAL SUNGLASSES",
        "WATCHES",
        "CRAFTS",
        "CRAFT SHOP",
        "HOBBY SHOP",
        "PARTY SUPPLIES",
        "CARDS & GIFTS",
    ),
    "subscriptions": (
        "SUBSCRIPTION",
        "MONTHLY SUBSCRIPTION",
        "STREAMING",
        "APP",
        "APPS",
        "SOFTWARE",
        "CLOUD",
        "PREMIUM",
        "PLUS",
        "PRO PLAN",
        "ANNUAL PLAN",
        "MONTHLY PLAN",
        "VPN",
        "HOSTING",
        "DOMAINS",
        "MAGAZINE SUB",
        "NEWS SUBSCRIPTION",
        "DIGITAL",
        "ONLINE SERVICES",
        "SAAS",
        "LICENSE RENEWAL",
    ),
    "utilities": (
        "ENERGY",
        "ELECTRIC",
        "ELECTRICITY",
        "GAS & ELECTRIC",
        "POWER",
        "POWER & LIGHT",
        "WATER",
        "WATER SERVICES",
        "WATER DEPT",
        "UTILITIES",
        "UTILITY",
        "BROADBAND",
        "TELECOM",
        "TELECOMS",
        "COMMUNICATIONS",
        "WIRELESS",
        "MOBILE",
        "INTERNET",
        "FIBRE",
        "FIBER",
        "CABLE TV",
        "SEWER",
        "WASTE SERVICES",
        "HEATING OIL",
        "PROPANE",
        "TV LICENCE",
        "PHONE BILL",
    ),
    "housing": (
        "RENT",
        "LETTINGS",
        "ESTATE AGENTS",
        "PROPERTY MGMT",
        "PROPERTY MANAGEMENT",
        "PROPERTIES",
        "APARTMENTS RENT",
        "LANDLORD",
        "MORTGAGE",
        "HOME LOANS",
        "COUNCIL TAX",
        "PROPERTY TAX",
        "PLUMBING",
        "PLUMBER",
        "PLUMBING & HEATING",
        "ELECTRICIAN",
        "ELECTRICAL",
        "ROOFING",
        "BUILDERS",
        "BUILDING SERVICES",
        "HANDYMAN",
        "LOCKSMITH",
        "LOCKSMITHS",
        "DECORATING",
        "DECORATORS",
        "PAINTING",
        "GLAZING",
        "WINDOWS",
        "PEST CONTROL",
        "HARDWARE",
        "DIY",
        "TIMBER",
        "LUMBER",
        "BUILDERS MERCHANT",
        "LANDSCAPING",
        "GARDENING",
        "GARDEN SERVICES",
        "CLEANING SERVICES",
        "CARPETS",
        "FLOORING",
        "KITCHENS",
        "BATHROOMS",
        "HVAC",
        "BOILER SERVICE",
        "HOA",
        "CONDO ASSN",
        "DRAINAGE",
        "CHIMNEY SWEEP",
    ),
    "health": (
        "PHARMACY",
        "CHEMIST",
        "CHEMISTS",
        "DRUGSTORE",
        "DENTAL",
        "DENTAL CARE",
        "DENTAL PRACTICE",
        "DENTIST",
        "ORTHODONTICS",
        "OPTICIANS",
        "OPTICIAN",
        "OPTOMETRY",
        "EYE CARE",
        "CLINIC",
        "MEDICAL",
        "MEDICAL CENTRE",
        "MEDICAL CENTER",
        "HEALTH CENTRE",
        "PHYSIO",
        "PHYSIOTHERAPY",
        "PHYSICAL THERAPY",
        "CHIROPRACTIC",
        "OSTEOPATH",
        "PODIATRY",
        "GYM",
        "FITNESS",
        "HEALTH CLUB",
        "YOGA",
        "PILATES",
        "CROSSFIT",
        "BOXING GYM",
        "LEISURE CENTRE",
        "HOSPITAL",
        "URGENT CARE",
        "PEDIATRICS",
        "DERMATOLOGY",
        "COUNSELLING",
        "THERAPY",
        "HEARING",
        "AUDIOLOGY",
        "LABS",
    ),
    "entertainment": (
        "CINEMA",
        "CINEMAS",
        "THEATRE",
        "THEATER",
        "PLAYHOUSE",
        "BOWLING",
        "BOWL",
        "CONCERTS",
        "TICKETS",
        "BOX OFFICE",
        "GOLF CLUB",
        "GOLF",
        "MINI GOLF",
        "ESCAPE ROOM",
        "ARCADE",
        "MUSEUM",
        "ZOO",
        "AQUARIUM",
        "GALLERY",
        "GAMES",
        "GAMING",
        "COMEDY CLUB",
        "KARAOKE",
        "LASER TAG",
        "TRAMPOLINE PARK",
        "CLIMBING WALL",
        "BOOKMAKERS",
        "BETTING",
        "CASINO",
        "BINGO",
        "LOTTERY",
        "SNOOKER CLUB",
        "POOL HALL",
        "JAZZ CLUB",
        "NIGHTCLUB",
        "FESTIVAL",
        "THEME PARK",
        "FUNFAIR",
        "SOFT PLAY",
        "ICE RINK",
        "SKATE PARK",
        "PAINTBALL",
    ),
    "personal_care": (
        "BARBER",
        "BARBERS",
        "BARBERSHOP",
        "BARBER SHOP",
        "HAIR",
        "HAIR SALON",
        "HAIR STUDIO",
        "HAIRDRESSING",
        "HAIRDRESSERS",
        "SALON",
        "NAILS",
        "NAIL BAR",
        "NAIL SALON",
        "BEAUTY",
        "BEAUTY SALON",
        "BEAUTY BAR",
        "SPA",
        "DAY SPA",
        "LASHES",
        "BROWS",
        "LASH & BROW",
        "TANNING",
        "TANNING SALON",
        "AESTHETICS",
        "MASSAGE",
        "WAXING",
        "DRY CLEANERS",
        "DRY CLEANING",
        "LAUNDERETTE",
        "LAUNDROMAT",
        "LAUNDRY",
        "TATTOO",
        "PIERCING",
        "COSMETICS",
        "SKIN CLINIC",
        "GROOMING",
    ),
    "education": (
        "TUITION",
        "TUTORS",
        "TUTORING",
        "SCHOOL",
        "SCHOOL FEES",
        "ACADEMY",
        "UNIVERSITY",
        "COLLEGE",
        "LEARNING",
        "LEARNING CENTRE",
        "DRIVING SCHOOL",
        "DRIVING LESSONS",
        "MUSIC LESSONS",
        "PIANO LESSONS",
        "LANGUAGE SCHOOL",
        "COURSES",
        "TRAINING COURSE",
        "EDUCATION",
        "INSTITUTE",
        "STUDY CENTRE",
        "MONTESSORI",
        "PREP SCHOOL",
        "SWIM SCHOOL",
        "DANCE SCHOOL",
        "EXAM FEES",
        "TEXTBOOKS",
        "CAMPUS STORE",
        "BOOTCAMP",
    ),
    "insurance": (
        "INSURANCE",
        "INSURANCE SERVICES",
        "INS",
        "INSURE",
        "ASSURANCE",
        "UNDERWRITING",
        "LIFE ASSURANCE",
        "LIFE INSURANCE",
        "CAR INSURANCE",
        "AUTO INSURANCE",
        "HOME INSURANCE",
        "PET INSURANCE",
        "TRAVEL INSURANCE",
        "HEALTH INSURANCE",
        "INSURANCE BROKERS",
        "MUTUAL INS",
        "INSURANCE AGENCY",
        "PREMIUM INS",
        "COVER",
        "PROTECTION PLAN",
        "WARRANTY",
    ),
    "gifts_donations": (
        "CHARITY",
        "CHARITABLE TRUST",
        "FOUNDATION",
        "DONATION",
        "DONATE",
        "APPEAL",
        "HOSPICE",
        "CHURCH",
        "PARISH",
        "MOSQUE",
        "TEMPLE",
        "SYNAGOGUE",
        "TITHE",
        "FUNDRAISING",
        "RELIEF FUND",
        "GIFTS",
        "FLOWERS",
        "FLORIST",
        "FLORISTS",
        "GIFT CARD",
        "GIFT HAMPERS",
        "PTA DONATION",
        "SPONSORSHIP",
    ),
    "other": (
        "POST OFFICE",
        "POSTAGE",
        "COURIERS",
        "SHIPPING",
        "VETS",
        "VETERINARY",
        "VET CLINIC",
        "ANIMAL HOSPITAL",
        "PET SHOP",
        "PET SUPPLIES",
        "DOG GROOMING",
        "KENNELS",
        "SOLICITORS",
        "LAW FIRM",
        "ATTORNEY",
        "ACCOUNTANTS",
        "ACCOUNTING",
        "TAX SERVICES",
        "FUNERAL",
        "FUNERAL DIRECTORS",
        "CHILDCARE",
        "NURSERY",
        "DAYCARE",
        "CHILDMINDER",
        "STORAGE",
        "SELF STORAGE",
        "REMOVALS",
        "MOVERS",
        "PRINTING",
        "PRINT SHOP",
        "COWORKING",
        "TOWN COUNCIL",
        "PARISH COUNCIL",
        "PERMITS",
        "LICENSING",
        "NOTARY",
        "TRANSLATION",
        "CONSULTING",
    ),
}


# Pub names: "THE RED LION" is a pub (dining) with no generic word at all.
PUB_NAMES = (
    "RED LION",
    "CROWN",
    "WHITE HART",
    "KINGS HEAD",
    "QUEENS HEAD",
    "ROYAL OAK",
    "PLOUGH",
    "GREEN MAN",
    "BLACK HORSE",
    "SWAN",
    "BELL",
    "ROSE AND CROWN",
    "WHEATSHEAF",
    "GEORGE",
    "FOX AND HOUNDS",
    "NAGS HEAD",
    "COACH AND HORSES",
    "RAILWAY",
    "SHIP",
    "ANCHOR",
    "WHITE HORSE",
    "RED LION INN",
    "CROWN INN",
    "PLOUGH INN",
    "BLUE BELL",
    "STAR INN",
    "HARE AND HOUNDS",
    "BULL",
    "LAMB",
    "OLD BELL",
    "DUKE OF YORK",
    "PRINCE OF WALES",
)


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
    "LONDON",
    "LDN",
    "MANCHESTER",
    "BIRMINGHAM",
    "LEEDS",
    "GLASGOW",
    "EDINBURGH",
    "BRISTOL",
    "LIVERPOOL",
    "CARDIFF",
    "NOTTINGHAM",
    "SHEFFIELD",
    "BRIGHTON",
    "OXFORD",
    "CAMBRIDGE",
    "YORK",
    "READING",
    "NEWCASTLE",
    "LEICESTER",
    "NORWICH",
    "EXETER",
    "BATH",
    "CROYDON",
    "WATFORD",
)
US_CITIES = (
    ("NEW YORK", "NY"),
    ("BROOKLYN", "NY"),
    ("SEATTLE", "WA"),
    ("SAN FRANCISCO", "CA"),
    ("LOS ANGELES", "CA"),
    ("CHICAGO", "IL"),
    ("AUSTIN", "TX"),
    ("HOUSTON", "TX"),
    ("BOSTON", "MA"),
    ("DENVER", "CO"),
    ("ATLANTA", "GA"),
    ("MIAMI", "FL"),
    ("PORTLAND", "OR"),
    ("PHOENIX", "AZ"),
    ("NASHVILLE", "TN"),
    ("CHARLOTTE", "NC"),
    ("COLUMBUS", "OH"),
    ("MINNEAPOLIS", "MN"),
    ("SAN DIEGO", "CA"),
    ("DALLAS", "TX"),
    ("PHILADELPHIA", "PA"),
)
PROCESSOR_PREFIXES = (
    "SQ *",
    "SQ*",
    "TST* ",
    "TST*",
    "PAYPAL *",
    "PP*",
    "SUMUP *",
    "SMP*",
    "ZETTLE_*",
    "IZ *",
    "SP * ",
    "SP *",
    "CLOVER*",
    "STRIPE*",
    "LSP*",
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _dmy(rng: random.Random) -> str:
    sep = rng.choice("-/.")
    return f"{rng.randint(1, 28):02d}{sep}{rng.randint(1, 12):02d}{sep}{rng.choice(('2024', '2025', '24', '25'))}"  # noqa: E501


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
        return f"CARD PAYMENT TO {_truncate(rng, name)}{rng.choice(('', ' ' + rng.choice(UK_CITIES)))} ON {_dmy(rng)}"  # noqa: E501
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
        return f"{name} ON {rng.randint(1, 28):02d} {rng.choice(MONTHS)} {rng.choice(('BCC', 'CPM', 'CLP', ''))}".strip()  # noqa: E501
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
        return (
            f"CHECKCARD {_digits(rng, 4)} {_truncate(rng, name)} {city} {state} {_digits(rng, 23)}"
        )
    if r < 0.62:
        return f"{_truncate(rng, name)} #{_digits(rng, rng.randint(3, 5))} {city} {state}"
    if r < 0.72:
        return (
            f"{_truncate(rng, name)} {_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)} {state}"
        )
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
    "ACME LTD",
    "GLOBEX CORP",
    "INITECH",
    "NHS TRUST",
    "COUNTY COUNCIL",
    "TESCO STORES LTD",
    "AMAZON UK SERVICES",
    "DELOITTE LLP",
    "UNIVERSITY OF LEEDS",
    "BARCLAYS BANK PLC",
    "NORTHWIND TRADING",
    "CONTOSO LTD",
    "STARK INDUSTRIES",
    "WAYNE ENTERPRISES",
    "GUSTO",
    "ADP",
    "PAYCHEX",
    "INTUIT PAYROLL",
    "STATE OF CALIFORNIA",
    "CITY OF AUSTIN",
    "NETWORK RAIL",
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
        (
            rng.choice(
                (
                    "INTEREST PAID",
                    "INTEREST EARNED",
                    "GROSS INTEREST",
                    "CREDIT INTEREST",
                    "INTEREST PAYMENT",
                    "SAVINGS INTEREST",
                    "INTEREST CREDIT",
                )
            ),
            "income",
            CREDIT,
        ),
        (
            rng.choice(
                (
                    "HMRC TAX REFUND",
                    "HMRC REFUND REF",
                    "IRS TREAS 310 TAX REF",
                    "TAX REFUND",
                    "STATE TAX REFUND",
                )
            ),
            "income",
            CREDIT,
        ),
        (
            rng.choice(
                (
                    "DWP UC",
                    "DWP UNIVERSAL CREDIT",
                    "DWP CHILD BENEFIT",
                    "CHB HMRC",
                    "DWP STATE PENSION",
                    "DWP PIP",
                    "SSA TREAS 310 XXSOC SEC",
                    "UNEMPLOYMENT BENEFIT",
                    "PENSION PAYMENT",
                    "CASHBACK REWARD",
                    "DIVIDEND PAYMENT",
                )
            ),
            "income",
            CREDIT,
        ),
        (
            rng.choice(
                (
                    "MONTHLY ACCOUNT FEE",
                    "MONTHLY MAINTENANCE FEE",
                    "OVERDRAFT FEE",
                    "ARRANGED OVERDRAFT INTEREST",
                    "OVERDRAFT INTEREST",
                    "UNARRANGED OD FEE",
                    "NON-STERLING TRANSACTION FEE",
                    "NON-STERLING CASH FEE",
                    "FOREIGN TRANSACTION FEE",
                    "INTL TRANSACTION FEE",
                    "ATM FEE",
                    "OUT OF NETWORK ATM FEE",
                    "LATE PAYMENT FEE",
                    "LATE FEE",
                    "UNPAID ITEM CHARGE",
                    "RETURNED ITEM FEE",
                    "NSF FEE",
                    "SERVICE CHARGE",
                    "ACCOUNT SERVICE CHARGE",
                    "ANNUAL CARD FEE",
                    "ANNUAL FEE",
                    "CASH ADVANCE FEE",
                    "INTEREST CHARGE ON PURCHASES",
                    "INTEREST CHARGED",
                    "PURCHASE INTEREST",
                    "WIRE TRANSFER FEE",
                    "PACKAGED ACCOUNT FEE",
                    "PCN PENALTY CHARGE",
                    "PARKING FINE",
                    "MINIMUM BALANCE FEE",
                    "COMMISSION",
                )
            ),
            "fees",
            DEBIT,
        ),
        (
            rng.choice(
                (
                    "ATM WITHDRAWAL",
                    "CASH WITHDRAWAL",
                    "ATM CASH",
                    "CASH MACHINE",
                    "LINK ATM",
                    "NON-CHASE ATM WITHDRAW",
                    "ATM W/D",
                    "CASH",
                )
            )
            + f" {rng.choice((*UK_CITIES, ''))} {_dmy(rng)}",
            "transfers",
            DEBIT,
        ),
        (
            f"{rng.choice(('BARCLAYS', 'HSBC', 'NATWEST', 'LLOYDS', 'SANTANDER', 'CHASE', 'BOFA', 'WELLS FARGO'))} "  # noqa: E501
            f"ATM {_digits(rng, 4)}",
            "transfers",
            DEBIT,
        ),
        (
            rng.choice(
                (
                    "TRANSFER TO SAVINGS",
                    "TFR TO SAVINGS ACCOUNT",
                    "TRANSFER TO ISA",
                    "INTERNET TRANSFER",
                    "ONLINE TRANSFER TO CHK",
                    "ONLINE TRANSFER FROM SAV",
                    "MOBILE TRANSFER",
                    "TRANSFER FROM CURRENT ACCOUNT",
                    "TO MONZO POT",
                    "MONZO POT TRANSFER",
                    "REVOLUT TOP UP",
                    "TOP-UP BY CARD",
                    "FROM SAVINGS",
                    "VANGUARD ISA",
                    "TRADING 212",
                    "ROBINHOOD",
                    "COINBASE",
                    "FIDELITY INVEST",
                    "CHASE CREDIT CRD AUTOPAY",
                    "AMEX EPAYMENT ACH PMT",
                    "BARCLAYCARD PAYMENT",
                    "CREDIT CARD PAYMENT",
                    "PAYMENT THANK YOU",
                    "CAPITAL ONE CRCARDPMT",
                    "KLARNA",
                    "CLEARPAY",
                    "AFTERPAY",
                    "PAYPAL TRANSFER",
                    "ZELLE TO",
                    "ZELLE FROM",
                    "VENMO PAYMENT",
                    "VENMO CASHOUT",
                    "CASH APP",
                    "LOAN REPAYMENT",
                    "STUDENT LOAN REPAYMENT",
                    "CAR FINANCE",
                )
            )
            + f" {_digits(rng, rng.choice((0, 4, 8)))}".rstrip(),
            "transfers",
            rng.choice((DEBIT, CREDIT)),
        ),
        (
            f"{rng.choice(('FASTER PAYMENT TO', 'TRANSFER TO', 'STANDING ORDER TO', 'BANK TRANSFER TO', 'TO'))} "  # noqa: E501
            f"{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)}",
            "transfers",
            DEBIT,
        ),
        (
            f"{rng.choice(('FASTER PAYMENT RECEIVED FROM', 'TRANSFER FROM', 'FROM'))} "
            f"{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)} {rng.choice(('', 'REF DINNER', 'REF RENT SHARE', 'REF THANKS'))}".rstrip(),  # noqa: E501
            "transfers",
            CREDIT,
        ),
        (
            f"{rng.choice(('ZELLE PAYMENT TO', 'VENMO *', 'PAYPAL *', 'CASH APP*'))}{rng.choice(FIRST_NAMES)[:-1]} {rng.choice(SURNAMES)}",  # noqa: E501
            "transfers",
            rng.choice((DEBIT, CREDIT)),
        ),
        (
            rng.choice(
                (
                    "COUNCIL TAX",
                    "LBH COUNCIL TAX",
                    "CITY COUNCIL COUNCIL TAX",
                    "CTAX",
                    "BOROUGH COUNCIL CTAX",
                    "COUNTY PROPERTY TAX",
                    "PROPERTY TAX PMT",
                )
            )
            + f" {_digits(rng, 8)}",
            "housing",
            DEBIT,
        ),
        (
            f"STANDING ORDER TO {rng.choice(SURNAMES)} {rng.choice(('LETTINGS', 'PROPERTIES', 'ESTATES', 'RENT'))} REF RENT",  # noqa: E501
            "housing",
            DEBIT,
        ),
        (
            f"{rng.choice(('RENT', 'MONTHLY RENT', 'RENT PAYMENT'))} {rng.choice(PLACES)} {rng.choice(('APTS', 'FLAT', 'HOUSE', ''))}".rstrip(),  # noqa: E501
            "housing",
            DEBIT,
        ),
        (
            f"{rng.choice(('NATIONWIDE', 'HALIFAX', 'SANTANDER', 'CHASE', 'WELLS FARGO', 'ROCKET'))} MORTGAGE {_digits(rng, 8)}",  # noqa: E501
            "housing",
            DEBIT,
        ),
    )


def generate(
    seed: int = 7, rounds: int = 12, local_per_word: int = 8, brand_rounds: int = 5
) -> list[Example]:
    """The synthetic training set: brands, local merchants and special lines, every category.

    ``brand_rounds`` descriptor shapes per brand (the dictionary knows brands anyway; the model
    must not learn to lean on names), ``local_per_word`` invented businesses per generic word
    (each in 2-3 shapes), and ``rounds * 15`` rounds of special lines.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    for label, brands in BRANDS.items():
        for brand in brands:
            group = f"gen:{brand}"
            for _ in range(brand_rounds):
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
    for pub in PUB_NAMES:
        name = f"THE {pub}" if rng.random() < 0.7 else pub
        for _ in range(3):
            out.append(
                Example(
                    _wrap(rng, name, "dining", processor_ok=True),
                    "dining",
                    DEBIT,
                    f"pub:{pub}",
                    "local",
                )
            )
    for label, phrases in TYPED.items():
        for phrase in phrases:
            for _ in range(3):
                r = rng.random()
                name = rng.choice(FIRST_NAMES).title()[:-1] if r < 0.3 else ""
                text = (
                    f"{phrase} {name}".strip()
                    if r < 0.15
                    else (f"{phrase} at {name}" if name else phrase)
                )
                direction = CREDIT if label == "income" else DEBIT
                out.append(Example(text.upper(), label, direction, f"typed:{phrase}", "typed"))
    for i in range(rounds * 15):
        for text, label, direction in _special(rng):
            out.append(Example(text, label, direction, f"special:{i % 97}:{label}", "special"))
    return out

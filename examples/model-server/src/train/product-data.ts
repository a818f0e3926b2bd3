/**
 * Synthetic product titles: per-category vocabularies (brands, nouns, adjectives, specs, audiences) combined
 * by templates, plus low-information titles for the "Unknown" class. See MODELS.md, "product-categorizer".
 */
import { STOP_WORDS } from '../features.js';
import type { Rng } from './prng.js';
import { createRng } from './prng.js';

/** Class labels in model output order; the last one is the low-information class. */
export const PRODUCT_CATEGORIES = [
  'Electronics',
  'Clothing',
  'Home & Kitchen',
  'Books',
  'Toys & Games',
  'Sports & Outdoors',
  'Beauty',
  'Grocery',
  'Unknown',
] as const;
export type ProductCategory = (typeof PRODUCT_CATEGORIES)[number];
export const UNKNOWN_CATEGORY: ProductCategory = 'Unknown';

interface Vocabulary {
  brands: readonly string[];
  nouns: readonly string[];
  adjectives: readonly string[];
  specs: readonly string[];
  audiences: readonly string[];
}

const VOCABULARIES: Record<Exclude<ProductCategory, 'Unknown'>, Vocabulary> = {
  Electronics: {
    brands: [
      'Apple',
      'Sony',
      'Samsung',
      'Anker',
      'Logitech',
      'JBL',
      'Lenovo',
      'Canon',
      'Philips',
      'Bose',
      'Asus',
    ],
    nouns: [
      'Headphones',
      'Earbuds',
      'Bluetooth Speaker',
      'Laptop',
      'Tablet',
      'Smartphone',
      'USB-C Charger',
      'Power Bank',
      'Wireless Mouse',
      'Mechanical Keyboard',
      'Monitor',
      'Webcam',
      'HDMI Cable',
      'Smartwatch',
      'Digital Camera',
      'SSD Drive',
      'Router',
      'Soundbar',
      'Smart TV',
      'Phone Case',
    ],
    adjectives: [
      'Wireless',
      'Noise Cancelling',
      'Portable',
      'Rechargeable',
      '4K',
      'Ultra HD',
      'Fast Charging',
      'Gaming',
      'Waterproof',
    ],
    specs: [
      '128GB',
      '256GB',
      '1TB',
      '65W',
      '20000mAh',
      '27 inch',
      '1080p',
      'Bluetooth 5.3',
      'Wi-Fi 6',
      '16GB RAM',
    ],
    audiences: ['Gamers', 'Travel', 'Home Office', 'iPhone', 'Android'],
  },
  Clothing: {
    brands: ["Levi's", 'Hanes', 'Carhartt', 'Columbia', 'Champion', 'Uniqlo', 'Wrangler', 'Ralph Lauren'],
    nouns: [
      'T-Shirt',
      'Hoodie',
      'Jeans',
      'Dress',
      'Jacket',
      'Sweater',
      'Socks',
      'Leggings',
      'Polo Shirt',
      'Cardigan',
      'Chino Pants',
      'Shorts',
      'Blouse',
      'Winter Coat',
      'Pajama Set',
      'Baseball Cap',
    ],
    adjectives: [
      'Slim Fit',
      'Cotton',
      'Relaxed Fit',
      'Long Sleeve',
      'Short Sleeve',
      'Fleece',
      'Denim',
      'Knit',
      'Casual',
    ],
    specs: ['Size M', 'Size L', 'Size XL', 'Size S', '32W x 30L', 'One Size', 'Crew Neck', 'V-Neck'],
    audiences: ['Men', 'Women', 'Boys', 'Girls', 'Toddler'],
  },
  'Home & Kitchen': {
    brands: ['KitchenAid', 'Cuisinart', 'OXO', 'Lodge', 'Pyrex', 'Keurig', 'Ninja', 'Instant Pot', 'Dyson'],
    nouns: [
      'Cast Iron Skillet',
      'Nonstick Frying Pan',
      'Coffee Maker',
      'Blender',
      'Air Fryer',
      'Knife Set',
      'Cutting Board',
      'Dinnerware Set',
      'Bath Towels',
      'Bed Sheets',
      'Throw Pillow',
      'Vacuum Cleaner',
      'Storage Containers',
      'Stand Mixer',
      'Toaster',
      'Electric Kettle',
      'Shower Curtain',
      'Duvet Cover',
    ],
    adjectives: [
      'Stainless Steel',
      'Nonstick',
      'Dishwasher Safe',
      'Ceramic',
      'Programmable',
      'Microfiber',
      'Glass',
      'Bamboo',
      'Cordless',
    ],
    specs: ['12 inch', '10 Cup', '6 Quart', 'Queen Size', 'King Size', '1500W', '15 Piece', '2 Slice'],
    audiences: ['Kitchen', 'Bedroom', 'Bathroom', 'Dorm Room', 'Apartment'],
  },
  Books: {
    brands: [
      'Penguin Classics',
      'HarperCollins',
      'Vintage',
      "O'Reilly",
      'Scholastic',
      'Random House',
      'Tor Books',
    ],
    nouns: [
      'Novel',
      'Cookbook',
      'Biography',
      'Memoir',
      'Thriller',
      'Guide',
      'Handbook',
      'Poetry Collection',
      'Mystery',
      'History',
      'Workbook',
      'Fantasy Saga',
      'Picture Book',
      'Textbook',
    ],
    adjectives: [
      'Paperback',
      'Hardcover',
      'Illustrated',
      'Bestselling',
      'Annotated',
      'Unabridged',
      'Revised Edition',
      'Large Print',
    ],
    specs: ['2nd Edition', 'Volume 1', 'Book 3', 'Kindle Edition', '352 Pages', 'Audiobook', 'Box Set'],
    audiences: ['Beginners', 'Young Readers', 'Programmers', 'Home Cooks', 'Students'],
  },
  'Toys & Games': {
    brands: [
      'LEGO',
      'Hasbro',
      'Mattel',
      'Melissa & Doug',
      'Fisher-Price',
      'Nerf',
      'Hot Wheels',
      'Ravensburger',
      'Funko',
    ],
    nouns: [
      'Building Set',
      'Board Game',
      'Jigsaw Puzzle',
      'Action Figure',
      'Plush Toy',
      'Doll House',
      'Card Game',
      'Remote Control Car',
      'Stuffed Animal',
      'Play Kitchen',
      'Toy Train Set',
      'Blaster',
      'Wooden Blocks',
      'Stacking Toy',
    ],
    adjectives: [
      'Educational',
      'Interactive',
      'Collectible',
      'Battery Operated',
      'Cuddly',
      'Magnetic',
      'STEM',
      'Family',
    ],
    specs: ['1000 Pieces', '500 Pieces', 'Ages 3+', 'Ages 8-12', '2-4 Players', '12 inch', '60 Pieces'],
    audiences: ['Kids', 'Toddlers', 'Boys', 'Girls', 'Family Game Night'],
  },
  'Sports & Outdoors': {
    brands: ['Nike', 'Adidas', 'Coleman', 'Wilson', 'Under Armour', 'Yeti', 'Osprey', 'Spalding', 'Garmin'],
    nouns: [
      'Yoga Mat',
      'Dumbbells',
      'Camping Tent',
      'Sleeping Bag',
      'Hiking Backpack',
      'Basketball',
      'Soccer Ball',
      'Tennis Racket',
      'Water Bottle',
      'Running Shoes',
      'Resistance Bands',
      'Fishing Rod',
      'Bike Helmet',
      'Trekking Poles',
      'Jump Rope',
      'Kettlebell',
    ],
    adjectives: [
      'Adjustable',
      'Insulated',
      'Lightweight',
      'Non-Slip',
      'Weatherproof',
      'Ultralight',
      'Heavy Duty',
      'Breathable',
    ],
    specs: ['Size 7', '6mm', '2-Person', '40L', '32 oz', '20 lb', '4-Season', 'Official Size'],
    audiences: ['Camping', 'Hiking', 'Gym', 'Running', 'Home Workout'],
  },
  Beauty: {
    brands: [
      "L'Oreal",
      'Maybelline',
      'Neutrogena',
      'CeraVe',
      'Olay',
      'Dove',
      'Revlon',
      'The Ordinary',
      'Nivea',
    ],
    nouns: [
      'Moisturizer',
      'Face Serum',
      'Shampoo',
      'Conditioner',
      'Lipstick',
      'Mascara',
      'Foundation',
      'Sunscreen',
      'Eyeshadow Palette',
      'Nail Polish',
      'Body Lotion',
      'Cleanser',
      'Perfume',
      'Hair Dryer',
      'Makeup Brushes',
    ],
    adjectives: [
      'Hydrating',
      'Fragrance Free',
      'Long Lasting',
      'Matte',
      'Waterproof',
      'Anti-Aging',
      'Vitamin C',
      'Hyaluronic Acid',
      'Vegan',
    ],
    specs: ['SPF 50', '1.7 fl oz', '16 oz', '30ml', '12 Shades', '50ml'],
    audiences: ['Dry Skin', 'Oily Skin', 'Sensitive Skin', 'Curly Hair', 'Women'],
  },
  Grocery: {
    brands: [
      'Kellogg',
      'Nestle',
      'Starbucks',
      'Lindt',
      'Barilla',
      'Quaker',
      'Kirkland Signature',
      'Lipton',
      'Heinz',
    ],
    nouns: [
      'Ground Coffee',
      'Green Tea',
      'Dark Chocolate',
      'Spaghetti Pasta',
      'Oatmeal',
      'Breakfast Cereal',
      'Olive Oil',
      'Peanut Butter',
      'Granola Bars',
      'Almonds',
      'Honey',
      'Tomato Ketchup',
      'Sparkling Water',
      'Potato Chips',
      'Basmati Rice',
    ],
    adjectives: [
      'Organic',
      'Gluten Free',
      'Roasted',
      'Unsweetened',
      'Whole Grain',
      'Salted',
      'Decaf',
      'Extra Virgin',
      'Low Sugar',
    ],
    specs: ['12 oz', '16 oz Jar', '24 Count', '1 lb Bag', '6 Pack', '500g', '100 Tea Bags'],
    audiences: ['Breakfast', 'Snacking', 'Baking', 'Lunch Boxes', 'Keto Diet'],
  },
};

/** Words that appear in titles of every category and so say nothing about it on their own. */
const GENERIC_WORDS = [
  'Premium',
  'New',
  'Classic',
  'Pro',
  'Deluxe',
  'Original',
  'Best Seller',
  'Quality',
  'Gift',
  'Value',
  'Limited',
  'Black',
  'White',
  'Blue',
  'Red',
  'Grey',
  'Pink',
  'Green',
  'Pack of 2',
  'Pack of 3',
  'Set of 4',
  '2024',
  'Model X',
] as const;
const COLORS = ['Black', 'White', 'Blue', 'Red', 'Grey', 'Navy', 'Pink', 'Green', 'Beige'] as const;
const PACKS = ['Pack of 2', 'Pack of 3', 'Pack of 6', 'Set of 4', '2-Pack', 'Bundle'] as const;
const BOOK_WORDS = [
  'Silent',
  'River',
  'Kingdom',
  'Midnight',
  'Garden',
  'Stars',
  'Secret',
  'Ocean',
  'Winter',
  'Empire',
  'Shadow',
  'Last',
];
const AUTHORS = [
  'Jane Austen',
  'Stephen King',
  'Agatha Christie',
  'Toni Morrison',
  'J. Smith',
  'Maria Lopez',
  'Haruki Murakami',
];

type Template = (v: Vocabulary, rng: Rng) => string;

/** Title templates shared by all non-book categories; the shapes mimic real marketplace listings. */
const TEMPLATES: readonly Template[] = [
  (v, r) => `${r.pick(v.brands)} ${r.pick(v.adjectives)} ${r.pick(v.nouns)}`,
  (v, r) => `${r.pick(v.brands)} ${r.pick(v.nouns)} ${r.pick(v.specs)}`,
  (v, r) => `${r.pick(v.adjectives)} ${r.pick(v.nouns)} for ${r.pick(v.audiences)}, ${r.pick(COLORS)}`,
  (v, r) =>
    `${r.pick(v.brands)} ${r.pick(v.adjectives)} ${r.pick(v.nouns)} - ${r.pick(v.specs)}, ${r.pick(PACKS)}`,
  (v, r) => `${r.pick(GENERIC_WORDS)} ${r.pick(v.nouns)} ${r.pick(v.specs)}`,
  (v, r) => `${r.pick(v.nouns)}`,
  (v, r) => `${r.pick(v.adjectives)} ${r.pick(v.nouns)}`,
  (v, r) => `${r.pick(v.brands)} ${r.pick(v.nouns)} for ${r.pick(v.audiences)} (${r.pick(GENERIC_WORDS)})`,
];

const BOOK_TEMPLATES: readonly Template[] = [
  (v, r) => `The ${r.pick(BOOK_WORDS)} ${r.pick(BOOK_WORDS)}: A ${r.pick(v.nouns)} (${r.pick(v.adjectives)})`,
  (v, r) =>
    `${r.pick(BOOK_WORDS)} of the ${r.pick(BOOK_WORDS)} by ${r.pick(AUTHORS)} - ${r.pick(v.adjectives)}, ${r.pick(v.specs)}`,
  (v, r) => `${r.pick(v.nouns)} for ${r.pick(v.audiences)}: ${r.pick(v.specs)} (${r.pick(v.brands)})`,
  (v, r) => `${r.pick(v.adjectives)} ${r.pick(v.nouns)} by ${r.pick(AUTHORS)}`,
];

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const VOWELS = 'aeiou';
const CONSONANTS = 'bcdfghjklmnpqrstvwxz';

/** A pronounceable or fully random non-word of 3–10 letters (never a vocabulary word, by construction odds). */
function nonWord(rng: Rng): string {
  const length = 3 + rng.int(8);
  let word = '';
  const pronounceable = rng.bernoulli(0.5);
  for (let i = 0; i < length; i++) {
    const alphabet = pronounceable ? (i % 2 === 0 ? CONSONANTS : VOWELS) : LETTERS;
    word += alphabet[rng.int(alphabet.length)];
  }
  return rng.bernoulli(0.15) ? `${word}${rng.int(1000)}` : word;
}

const PUNCTUATION_ONLY = ['', ' ', '   ', '-', '--', '...', '!!!', '???', '#', '***', '()', '/', '\t'];
const STOP_WORD_LIST = [...STOP_WORDS];

/** A low-information title: gibberish, stop words, punctuation, or generic marketing words only. */
function unknownTitle(rng: Rng): string {
  const kind = rng.next();
  const count = 1 + rng.int(5);
  if (kind < 0.5) return Array.from({ length: count }, () => nonWord(rng)).join(' ');
  if (kind < 0.65) return Array.from({ length: count }, () => rng.pick(STOP_WORD_LIST)).join(' ');
  if (kind < 0.75) return rng.pick(PUNCTUATION_ONLY);
  if (kind < 0.9) return Array.from({ length: count }, () => rng.pick(GENERIC_WORDS)).join(' ');
  return `${rng.int(100000)}`;
}

const KNOWN_CATEGORIES = PRODUCT_CATEGORIES.filter((c) => c !== 'Unknown') as Exclude<
  ProductCategory,
  'Unknown'
>[];

function categoryTitle(category: Exclude<ProductCategory, 'Unknown'>, rng: Rng): string {
  const vocabulary = VOCABULARIES[category];
  const templates = category === 'Books' ? BOOK_TEMPLATES : TEMPLATES;
  let title = rng.pick(templates)(vocabulary, rng);
  // Product-line names and model numbers ("Falcon", "XR500") are words the model has never seen; teaching it that
  // they do not make a title "Unknown" is what lets it categorize real titles full of unseen words.
  if (rng.bernoulli(0.25)) title = `${title} ${nonWord(rng)}`;
  if (rng.bernoulli(0.1)) title = `${nonWord(rng)} ${title}`;
  // Real titles borrow words from other departments ("Kitchen" in a cookbook title, "Kids" on a T-shirt).
  if (rng.bernoulli(0.2)) {
    const other = VOCABULARIES[rng.pick(KNOWN_CATEGORIES)];
    title += ` ${rng.pick(rng.bernoulli(0.5) ? other.audiences : other.adjectives)}`;
  }
  return title;
}

export interface LabelledTitle {
  title: string;
  /** Index into {@link PRODUCT_CATEGORIES}. */
  label: number;
}

/**
 * `n` labelled titles: each is "Unknown" with probability `unknownShare`, otherwise from a uniformly chosen
 * category.
 */
export function generateProductTitles(n: number, seed: number, unknownShare: number): LabelledTitle[] {
  const rng = createRng(seed);
  const unknownLabel = PRODUCT_CATEGORIES.indexOf(UNKNOWN_CATEGORY);
  return Array.from({ length: n }, () => {
    if (rng.bernoulli(unknownShare)) return { title: unknownTitle(rng), label: unknownLabel };
    const category = rng.pick(KNOWN_CATEGORIES);
    return { title: categoryTitle(category, rng), label: PRODUCT_CATEGORIES.indexOf(category) };
  });
}

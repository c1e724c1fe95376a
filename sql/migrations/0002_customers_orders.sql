-- Up Migration
-- Seed sections 4, 6, 7: customers, customer_orders, customer_order_items.
-- (customer_events, section 5, is created partitioned in 0003_customer_events_partitioned.sql.)

CREATE TABLE customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id VARCHAR(100) UNIQUE NOT NULL, -- External identifier from client system
    email VARCHAR(255),
    phone VARCHAR(20),
    name VARCHAR(255),

    -- Demographics
    date_of_birth DATE,
    gender VARCHAR(20),
    age_group VARCHAR(20), -- '18-24', '25-34', etc.

    -- Location
    country VARCHAR(50),
    state VARCHAR(50),
    city VARCHAR(100),
    postal_code VARCHAR(20),
    timezone VARCHAR(50),

    -- Customer Classification
    customer_type VARCHAR(50) DEFAULT 'regular' CHECK (customer_type IN ('premium', 'regular', 'enterprise', 'trial')),
    customer_status VARCHAR(50) DEFAULT 'active' CHECK (customer_status IN ('active', 'inactive', 'churned', 'suspended')),
    lifecycle_stage VARCHAR(50) DEFAULT 'new' CHECK (lifecycle_stage IN ('new', 'activated', 'engaged', 'at_risk', 'churned', 'reactivated')),

    -- Key Dates
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE,
    activated_at TIMESTAMP WITH TIME ZONE,
    churned_at TIMESTAMP WITH TIME ZONE,

    -- Acquisition
    acquisition_channel VARCHAR(100),
    acquisition_campaign VARCHAR(100),
    acquisition_source VARCHAR(100),
    referrer_url TEXT,
    utm_parameters JSONB,

    -- Computed Metrics
    -- total_orders, total_revenue, average_order_value and lifetime_value are written
    -- ONLY by the update_customer_metrics trigger on customer_orders (0010/0011);
    -- the remaining computed columns are owned by the stream processors.
    total_orders INTEGER DEFAULT 0,
    total_revenue DECIMAL(12,2) DEFAULT 0.00,
    average_order_value DECIMAL(10,2) DEFAULT 0.00,
    lifetime_value DECIMAL(12,2) DEFAULT 0.00,
    days_since_last_order INTEGER,
    total_sessions INTEGER DEFAULT 0,
    total_page_views INTEGER DEFAULT 0,

    -- Behavioral Scores (0-100)
    engagement_score INTEGER DEFAULT 0 CHECK (engagement_score >= 0 AND engagement_score <= 100),
    churn_risk_score INTEGER DEFAULT 0 CHECK (churn_risk_score >= 0 AND churn_risk_score <= 100),

    -- Custom Attributes
    custom_attributes JSONB DEFAULT '{}',
    tags TEXT[] DEFAULT '{}',

    -- Data Source
    data_source VARCHAR(50) DEFAULT 'api', -- 'api', 'csv_import', 'database_sync'
    external_ids JSONB DEFAULT '{}', -- Store IDs from multiple systems

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    imported_at TIMESTAMP WITH TIME ZONE,
    last_calculated_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX idx_customers_customer_id ON customers(customer_id);
CREATE INDEX idx_customers_email ON customers(email);
CREATE INDEX idx_customers_type_status ON customers(customer_type, customer_status);
CREATE INDEX idx_customers_lifecycle ON customers(lifecycle_stage);
CREATE INDEX idx_customers_first_seen ON customers(first_seen_at);
CREATE INDEX idx_customers_last_seen ON customers(last_seen_at);
CREATE INDEX idx_customers_revenue ON customers(total_revenue);
CREATE INDEX idx_customers_ltv ON customers(lifetime_value);
CREATE INDEX idx_customers_engagement ON customers(engagement_score);
CREATE INDEX idx_customers_churn_risk ON customers(churn_risk_score);
CREATE INDEX idx_customers_acquisition ON customers(acquisition_channel, acquisition_source);

-- Full-text search index (to_tsvector(regconfig, text) is immutable, so this is legal as written)
CREATE INDEX idx_customers_search ON customers USING gin(to_tsvector('english',
    COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(customer_id, '')
));

CREATE TABLE customer_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id VARCHAR(100) UNIQUE NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers(id),

    -- Order Details
    order_status VARCHAR(50) NOT NULL CHECK (order_status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled', 'refunded')),
    order_total DECIMAL(12,2) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',

    -- Amounts Breakdown
    subtotal DECIMAL(12,2) NOT NULL,
    tax_amount DECIMAL(10,2) DEFAULT 0.00,
    shipping_amount DECIMAL(10,2) DEFAULT 0.00,
    discount_amount DECIMAL(10,2) DEFAULT 0.00,

    -- Dates
    ordered_at TIMESTAMP WITH TIME ZONE NOT NULL,
    confirmed_at TIMESTAMP WITH TIME ZONE,
    shipped_at TIMESTAMP WITH TIME ZONE,
    delivered_at TIMESTAMP WITH TIME ZONE,
    cancelled_at TIMESTAMP WITH TIME ZONE,

    -- Location
    shipping_country VARCHAR(50),
    shipping_state VARCHAR(50),
    shipping_city VARCHAR(100),
    billing_country VARCHAR(50),
    billing_state VARCHAR(50),
    billing_city VARCHAR(100),

    -- Attribution
    acquisition_channel VARCHAR(100),
    campaign_id UUID, -- Reference to campaigns table (deliberately no FK, see sql/README.md)
    promotion_code VARCHAR(50),

    -- Payment
    payment_method VARCHAR(50),
    payment_status VARCHAR(50),

    -- Order Classification
    is_first_order BOOLEAN DEFAULT false,
    is_subscription BOOLEAN DEFAULT false,
    subscription_id VARCHAR(100),

    -- Metadata
    order_source VARCHAR(50), -- 'website', 'mobile_app', 'phone', 'store'
    notes TEXT,
    custom_fields JSONB DEFAULT '{}',

    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_customer_orders_customer_id ON customer_orders(customer_id);
CREATE INDEX idx_customer_orders_order_id ON customer_orders(order_id);
CREATE INDEX idx_customer_orders_status ON customer_orders(order_status);
CREATE INDEX idx_customer_orders_ordered_at ON customer_orders(ordered_at);
CREATE INDEX idx_customer_orders_total ON customer_orders(order_total);
CREATE INDEX idx_customer_orders_first_order ON customer_orders(is_first_order);
CREATE INDEX idx_customer_orders_customer_ordered ON customer_orders(customer_id, ordered_at);

CREATE TABLE customer_order_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL REFERENCES customer_orders(id) ON DELETE CASCADE,

    -- Product Details
    product_id VARCHAR(100) NOT NULL,
    product_name VARCHAR(500) NOT NULL,
    product_category VARCHAR(100),
    product_subcategory VARCHAR(100),
    product_sku VARCHAR(100),
    product_brand VARCHAR(100),

    -- Pricing
    unit_price DECIMAL(10,2) NOT NULL,
    quantity INTEGER NOT NULL,
    total_price DECIMAL(10,2) NOT NULL,
    discount_amount DECIMAL(10,2) DEFAULT 0.00,

    -- Product Attributes
    product_attributes JSONB DEFAULT '{}', -- size, color, variant, etc.

    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_order_items_order_id ON customer_order_items(order_id);
CREATE INDEX idx_order_items_product_id ON customer_order_items(product_id);
CREATE INDEX idx_order_items_category ON customer_order_items(product_category);

-- Down Migration
DROP TABLE IF EXISTS customer_order_items;
DROP TABLE IF EXISTS customer_orders;
DROP TABLE IF EXISTS customers;

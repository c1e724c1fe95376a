-- Up Migration
-- Seed sections 8-11: campaigns, campaign_sends, promotions, promotion_redemptions.

CREATE TABLE campaigns (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,

    -- Campaign Type & Channel
    campaign_type VARCHAR(50) NOT NULL CHECK (campaign_type IN ('email', 'sms', 'push_notification', 'in_app', 'web_push', 'direct_mail')),
    channel VARCHAR(50) NOT NULL,

    -- Status & Scheduling
    status VARCHAR(50) DEFAULT 'draft' CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'completed', 'cancelled')),
    start_date TIMESTAMP WITH TIME ZONE,
    end_date TIMESTAMP WITH TIME ZONE,

    -- Content Management
    subject_line VARCHAR(500), -- For email campaigns
    content_template_id UUID,
    content_variables JSONB DEFAULT '{}',
    message_content JSONB NOT NULL,
    /*
    Example message_content structure:
    {
        "subject": "Welcome {{customer_name}}!",
        "html_body": "<html>...</html>",
        "text_body": "Plain text version",
        "sender_name": "Your Company",
        "sender_email": "hello@company.com",
        "attachments": [],
        "personalization": {
            "customer_name": "{{customer.name}}",
            "discount_code": "{{promotion.code}}"
        }
    }
    */

    -- Targeting Configuration
    target_audience_type VARCHAR(50) DEFAULT 'segment' CHECK (target_audience_type IN ('all_customers', 'segment', 'custom_filter', 'uploaded_list')),
    target_segments UUID[] DEFAULT '{}', -- Array of segment IDs
    target_filters JSONB, -- Custom targeting criteria
    exclusion_segments UUID[] DEFAULT '{}',

    -- Send Configuration
    send_immediately BOOLEAN DEFAULT false,
    scheduled_send_time TIMESTAMP WITH TIME ZONE,
    timezone_send BOOLEAN DEFAULT false, -- Send in recipient's timezone
    frequency_cap JSONB, -- Frequency capping rules

    -- A/B Testing
    is_ab_test BOOLEAN DEFAULT false,
    ab_test_config JSONB,
    /*
    Example ab_test_config:
    {
        "variants": [
            {"name": "A", "percentage": 50, "subject": "Subject A"},
            {"name": "B", "percentage": 50, "subject": "Subject B"}
        ],
        "test_duration_hours": 4,
        "winning_metric": "open_rate",
        "auto_select_winner": true
    }
    */

    -- Budget & Limits
    budget DECIMAL(10,2),
    cost_per_send DECIMAL(6,4),
    max_sends INTEGER,
    daily_send_limit INTEGER,

    -- Performance Tracking (updated by triggers)
    total_targeted INTEGER DEFAULT 0,
    total_sent INTEGER DEFAULT 0,
    total_delivered INTEGER DEFAULT 0,
    total_bounced INTEGER DEFAULT 0,
    total_opened INTEGER DEFAULT 0,
    total_clicked INTEGER DEFAULT 0,
    total_unsubscribed INTEGER DEFAULT 0,
    total_converted INTEGER DEFAULT 0,
    total_revenue_attributed DECIMAL(12,2) DEFAULT 0.00,

    -- Calculated Metrics
    delivery_rate DECIMAL(5,4) DEFAULT 0,
    open_rate DECIMAL(5,4) DEFAULT 0,
    click_rate DECIMAL(5,4) DEFAULT 0,
    conversion_rate DECIMAL(5,4) DEFAULT 0,
    roi DECIMAL(8,4) DEFAULT 0,

    -- Integration Details
    external_campaign_id VARCHAR(255), -- ID in email service provider
    service_provider VARCHAR(100), -- 'sendgrid', 'mailchimp', etc.

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID NOT NULL REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id),

    -- Approval Workflow
    approval_status VARCHAR(50) DEFAULT 'draft' CHECK (approval_status IN ('draft', 'pending_approval', 'approved', 'rejected')),
    approved_by UUID REFERENCES platform_users(id),
    approved_at TIMESTAMP WITH TIME ZONE,
    rejection_reason TEXT
);

CREATE INDEX idx_campaigns_status ON campaigns(status);
CREATE INDEX idx_campaigns_type ON campaigns(campaign_type);
CREATE INDEX idx_campaigns_dates ON campaigns(start_date, end_date);
CREATE INDEX idx_campaigns_created_by ON campaigns(created_by);
CREATE INDEX idx_campaigns_approval ON campaigns(approval_status);

CREATE TABLE campaign_sends (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL REFERENCES customers(id),

    -- Send Details
    send_status VARCHAR(50) DEFAULT 'queued' CHECK (send_status IN ('queued', 'sent', 'delivered', 'bounced', 'failed', 'rejected')),
    sent_at TIMESTAMP WITH TIME ZONE,
    delivered_at TIMESTAMP WITH TIME ZONE,

    -- Engagement Tracking
    opened_at TIMESTAMP WITH TIME ZONE,
    first_click_at TIMESTAMP WITH TIME ZONE,
    last_click_at TIMESTAMP WITH TIME ZONE,
    total_clicks INTEGER DEFAULT 0,
    unsubscribed_at TIMESTAMP WITH TIME ZONE,
    complained_at TIMESTAMP WITH TIME ZONE, -- spam complaint

    -- Conversion Tracking
    converted_at TIMESTAMP WITH TIME ZONE,
    conversion_value DECIMAL(10,2),
    conversion_event VARCHAR(100),

    -- A/B Testing
    variant VARCHAR(50), -- A, B, C, etc.

    -- Message Details
    subject_line VARCHAR(500),
    personalized_content JSONB, -- Store personalized variables used
    message_size_bytes INTEGER,

    -- Delivery Details
    recipient_email VARCHAR(255),
    recipient_phone VARCHAR(20),
    delivery_attempt INTEGER DEFAULT 1,
    bounce_reason VARCHAR(500),
    failure_reason TEXT,

    -- External Service Tracking
    external_message_id VARCHAR(255),
    service_provider VARCHAR(100),

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Correction: variant is NULL for campaigns that are not A/B tests, and a plain UNIQUE
    -- treats NULLs as distinct, so the same send could be recorded twice and
    -- ON CONFLICT (campaign_id, customer_id, variant) never fired. PostgreSQL 15:
    UNIQUE NULLS NOT DISTINCT (campaign_id, customer_id, variant)
);

-- Performance indexes
CREATE INDEX idx_campaign_sends_campaign_id ON campaign_sends(campaign_id);
CREATE INDEX idx_campaign_sends_customer_id ON campaign_sends(customer_id);
CREATE INDEX idx_campaign_sends_status ON campaign_sends(send_status);
CREATE INDEX idx_campaign_sends_sent_at ON campaign_sends(sent_at);
CREATE INDEX idx_campaign_sends_engagement ON campaign_sends(opened_at, first_click_at);
CREATE INDEX idx_campaign_sends_conversion ON campaign_sends(converted_at, conversion_value);

CREATE TABLE promotions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,

    -- Promotion Code
    promotion_code VARCHAR(100) UNIQUE,
    code_type VARCHAR(50) DEFAULT 'single' CHECK (code_type IN ('single', 'bulk', 'auto_generated')),

    -- Discount Configuration
    discount_type VARCHAR(50) NOT NULL CHECK (discount_type IN ('percentage', 'fixed_amount', 'free_shipping', 'buy_x_get_y', 'tiered')),
    discount_value DECIMAL(10,2), -- Percentage (as decimal: 0.15 = 15%) or fixed amount
    max_discount_amount DECIMAL(10,2), -- Cap for percentage discounts
    min_order_value DECIMAL(10,2), -- Minimum order to qualify

    -- Buy X Get Y Configuration (for BXGY offers)
    buy_quantity INTEGER,
    get_quantity INTEGER,
    get_discount_percentage DECIMAL(5,4),

    -- Tiered Discount Configuration
    tier_config JSONB,
    /*
    Example tier_config:
    {
        "tiers": [
            {"min_amount": 50, "discount": 0.10},
            {"min_amount": 100, "discount": 0.15},
            {"min_amount": 200, "discount": 0.20}
        ]
    }
    */

    -- Usage Limits
    usage_limit_total INTEGER, -- Total uses across all customers
    usage_limit_per_customer INTEGER DEFAULT 1,
    current_usage_count INTEGER DEFAULT 0,

    -- Date Constraints
    valid_from TIMESTAMP WITH TIME ZONE NOT NULL,
    valid_until TIMESTAMP WITH TIME ZONE NOT NULL,

    -- Product/Category Restrictions
    applicable_products TEXT[] DEFAULT '{}', -- Product IDs
    applicable_categories TEXT[] DEFAULT '{}', -- Category names
    excluded_products TEXT[] DEFAULT '{}',
    excluded_categories TEXT[] DEFAULT '{}',

    -- Customer Targeting
    eligible_customer_segments UUID[] DEFAULT '{}',
    eligible_customer_types VARCHAR(50)[] DEFAULT '{}',
    min_customer_tier VARCHAR(50),
    first_time_customers_only BOOLEAN DEFAULT false,

    -- Status & Visibility
    is_active BOOLEAN DEFAULT true,
    is_public BOOLEAN DEFAULT true, -- Can customers see this promotion?
    requires_code BOOLEAN DEFAULT true, -- Or automatically applied?

    -- Campaign Association
    campaign_id UUID REFERENCES campaigns(id),

    -- Performance Tracking
    total_redemptions INTEGER DEFAULT 0,
    total_discount_given DECIMAL(12,2) DEFAULT 0.00,
    total_revenue_attributed DECIMAL(12,2) DEFAULT 0.00,

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID NOT NULL REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_promotions_code ON promotions(promotion_code);
CREATE INDEX idx_promotions_dates ON promotions(valid_from, valid_until);
CREATE INDEX idx_promotions_active ON promotions(is_active, valid_from, valid_until);
CREATE INDEX idx_promotions_campaign ON promotions(campaign_id);

CREATE TABLE promotion_redemptions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id UUID NOT NULL REFERENCES promotions(id),
    customer_id UUID NOT NULL REFERENCES customers(id),
    order_id UUID REFERENCES customer_orders(id),

    -- Redemption Details
    redemption_code VARCHAR(100) NOT NULL,
    discount_amount DECIMAL(10,2) NOT NULL,
    original_order_value DECIMAL(10,2) NOT NULL,
    final_order_value DECIMAL(10,2) NOT NULL,

    -- Context
    redemption_channel VARCHAR(50), -- 'website', 'mobile_app', 'store'

    -- Timing
    redeemed_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Validation
    was_valid BOOLEAN DEFAULT true,
    validation_errors TEXT[],

    UNIQUE(promotion_id, customer_id, order_id)
);

CREATE INDEX idx_promotion_redemptions_promotion_id ON promotion_redemptions(promotion_id);
CREATE INDEX idx_promotion_redemptions_customer_id ON promotion_redemptions(customer_id);
CREATE INDEX idx_promotion_redemptions_redeemed_at ON promotion_redemptions(redeemed_at);

-- Down Migration
DROP TABLE IF EXISTS promotion_redemptions;
DROP TABLE IF EXISTS promotions;
DROP TABLE IF EXISTS campaign_sends;
DROP TABLE IF EXISTS campaigns;

-- Up Migration
-- Seed sections 1-3: extensions, platform users, their sessions and role permissions.
-- pg_stat_statements is deliberately not created here (see sql/README.md).
-- gen_random_uuid() is built into PostgreSQL 13+; uuid-ossp is kept because the seed asks for it.

CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS "pg_trgm";
CREATE EXTENSION IF NOT EXISTS "hstore";

CREATE TABLE platform_users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    avatar_url TEXT,
    role VARCHAR(50) NOT NULL CHECK (role IN ('super_admin', 'admin', 'marketing_manager', 'data_analyst', 'viewer')),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended', 'pending_invitation')),

    -- Authentication & Security
    email_verified BOOLEAN DEFAULT false,
    email_verification_token VARCHAR(255),
    password_reset_token VARCHAR(255),
    password_reset_expires TIMESTAMP WITH TIME ZONE,
    last_login TIMESTAMP WITH TIME ZONE,
    login_attempts INTEGER DEFAULT 0,
    locked_until TIMESTAMP WITH TIME ZONE,

    -- Invitation System
    invited_by UUID REFERENCES platform_users(id),
    invitation_token VARCHAR(255),
    invitation_expires TIMESTAMP WITH TIME ZONE,
    invitation_accepted_at TIMESTAMP WITH TIME ZONE,

    -- Preferences
    timezone VARCHAR(50) DEFAULT 'UTC',
    language VARCHAR(10) DEFAULT 'en',
    theme VARCHAR(20) DEFAULT 'light' CHECK (theme IN ('light', 'dark', 'auto')),
    dashboard_config JSONB DEFAULT '{}',
    notification_preferences JSONB DEFAULT '{
        "email_campaigns": true,
        "email_alerts": true,
        "browser_notifications": true
    }',

    -- Metadata
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_by UUID REFERENCES platform_users(id),
    updated_by UUID REFERENCES platform_users(id)
);

CREATE INDEX idx_platform_users_email ON platform_users(email);
CREATE INDEX idx_platform_users_role ON platform_users(role);
CREATE INDEX idx_platform_users_status ON platform_users(status);
CREATE INDEX idx_platform_users_last_login ON platform_users(last_login);
CREATE INDEX idx_platform_users_invitation_token ON platform_users(invitation_token);

CREATE TABLE platform_user_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES platform_users(id) ON DELETE CASCADE,
    session_token VARCHAR(255) UNIQUE NOT NULL,
    refresh_token VARCHAR(255) UNIQUE,

    -- Session Details
    ip_address INET,
    user_agent TEXT,
    device_type VARCHAR(50),
    browser VARCHAR(100),
    os VARCHAR(100),

    -- Location (from IP)
    country VARCHAR(50),
    city VARCHAR(100),

    -- Session Management
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_activity TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    is_active BOOLEAN DEFAULT true,

    -- Security
    is_suspicious BOOLEAN DEFAULT false,
    logout_reason VARCHAR(50) -- 'user_logout', 'session_expired', 'admin_revoked', 'security_logout'
);

CREATE INDEX idx_platform_sessions_user_id ON platform_user_sessions(user_id);
CREATE INDEX idx_platform_sessions_token ON platform_user_sessions(session_token);
CREATE INDEX idx_platform_sessions_expires ON platform_user_sessions(expires_at);
CREATE INDEX idx_platform_sessions_active ON platform_user_sessions(is_active, expires_at);

CREATE TABLE role_permissions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    role VARCHAR(50) NOT NULL,
    permission VARCHAR(100) NOT NULL,
    resource VARCHAR(50), -- 'users', 'campaigns', 'cohorts', 'dashboard', etc.
    action VARCHAR(50) NOT NULL, -- 'create', 'read', 'update', 'delete', 'execute'
    is_active BOOLEAN DEFAULT true,

    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,

    -- Correction: resource is nullable, so a plain UNIQUE would let duplicate
    -- (role, permission, NULL, action) rows in. PostgreSQL 15 NULLS NOT DISTINCT.
    UNIQUE NULLS NOT DISTINCT (role, permission, resource, action)
);

-- The seed's default permission rows are inserted by 0012_default_rows.sql.

CREATE INDEX idx_role_permissions_role ON role_permissions(role);
CREATE INDEX idx_role_permissions_resource ON role_permissions(resource, action);

-- Down Migration
DROP TABLE IF EXISTS role_permissions;
DROP TABLE IF EXISTS platform_user_sessions;
DROP TABLE IF EXISTS platform_users;
DROP EXTENSION IF EXISTS "hstore";
DROP EXTENSION IF EXISTS "pg_trgm";
DROP EXTENSION IF EXISTS "uuid-ossp";

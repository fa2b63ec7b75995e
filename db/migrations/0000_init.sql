CREATE TYPE "public"."upload_status" AS ENUM('initiated', 'uploading', 'paused', 'completed', 'failed', 'cancelled', 'expired');--> statement-breakpoint
CREATE TABLE "assets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"session_id" text,
	"filename" text NOT NULL,
	"content_type" text,
	"asset_type" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"storage_path" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "assets_session_id_unique" UNIQUE("session_id")
);
--> statement-breakpoint
CREATE TABLE "upload_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"filename" text NOT NULL,
	"content_type" text,
	"asset_type" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"upload_length" bigint,
	"upload_offset" bigint DEFAULT 0 NOT NULL,
	"chunk_size" integer NOT NULL,
	"total_chunks" integer,
	"chunks" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" "upload_status" DEFAULT 'initiated' NOT NULL,
	"error" text,
	"asset_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "assets_owner_created_idx" ON "assets" USING btree ("owner_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "upload_sessions_owner_created_idx" ON "upload_sessions" USING btree ("owner_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "upload_sessions_status_expires_idx" ON "upload_sessions" USING btree ("status","expires_at");
ALTER TABLE "upload_sessions" ADD COLUMN "concat" text;--> statement-breakpoint
ALTER TABLE "upload_sessions" ADD COLUMN "parts" jsonb;
variable "table_name" {
  description = "DynamoDB table holding the slots (DYNAMODB_TABLE_NAME)."
  type        = string
  default     = "hsdo-slots"
}

variable "asg_names" {
  description = "Auto Scaling groups the server discovers and completes lifecycle hooks for (SERVER_ASG_NAMES); empty when SERVER_MODE is not aws."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of the IAM roles and instance profiles."
  type        = string
  default     = "hsdo"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "health_table_name" {
  description = "DynamoDB table of the fleet health reports (HEALTH_TABLE_NAME); empty: <table_name>-health."
  type        = string
  default     = ""
}

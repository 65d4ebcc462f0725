//! Connect's logical types: Decimal, Date, Time and Timestamp.

use super::{Schema, SchemaBuilder, SchemaRef, SchemaType};

/// One of Connect's four built-in logical types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalType {
    /// Arbitrary-precision decimal, bytes underneath, `scale` parameter.
    Decimal,
    /// Calendar date, int32 days since the epoch.
    Date,
    /// Time of day, int32 milliseconds since midnight.
    Time,
    /// Instant, int64 milliseconds since the epoch.
    Timestamp,
}

impl LogicalType {
    /// Schema name of Decimal.
    pub const DECIMAL_NAME: &'static str = "org.apache.kafka.connect.data.Decimal";
    /// Schema name of Date.
    pub const DATE_NAME: &'static str = "org.apache.kafka.connect.data.Date";
    /// Schema name of Time.
    pub const TIME_NAME: &'static str = "org.apache.kafka.connect.data.Time";
    /// Schema name of Timestamp.
    pub const TIMESTAMP_NAME: &'static str = "org.apache.kafka.connect.data.Timestamp";
    /// Name of Decimal's scale parameter.
    pub const SCALE_PARAMETER: &'static str = "scale";
    /// Milliseconds in a day, the bound of Time values.
    pub const MILLIS_PER_DAY: i64 = 86_400_000;

    /// The underlying schema type.
    pub fn underlying(self) -> SchemaType {
        match self {
            LogicalType::Decimal => SchemaType::Bytes,
            LogicalType::Date | LogicalType::Time => SchemaType::Int32,
            LogicalType::Timestamp => SchemaType::Int64,
        }
    }

    /// The schema name.
    pub fn schema_name(self) -> &'static str {
        match self {
            LogicalType::Decimal => Self::DECIMAL_NAME,
            LogicalType::Date => Self::DATE_NAME,
            LogicalType::Time => Self::TIME_NAME,
            LogicalType::Timestamp => Self::TIMESTAMP_NAME,
        }
    }

    /// A builder for this logical type's schema (version 1), to add optionality or a default.
    pub fn builder(self) -> SchemaBuilder {
        SchemaBuilder::new(self.underlying())
            .name(self.schema_name())
            .version(1)
    }

    /// A required schema of this logical type. Decimal needs [`LogicalType::decimal`] instead.
    pub fn schema(self) -> SchemaRef {
        self.builder().build()
    }

    /// A required Decimal schema with the given scale.
    pub fn decimal(scale: i32) -> SchemaRef {
        Self::decimal_builder(scale).build()
    }

    /// A Decimal schema builder with the given scale.
    pub fn decimal_builder(scale: i32) -> SchemaBuilder {
        LogicalType::Decimal
            .builder()
            .parameter(Self::SCALE_PARAMETER, scale.to_string())
    }

    /// The scale of a Decimal schema (`Invalid Decimal schema: scale parameter not found.`).
    pub fn decimal_scale(schema: &Schema) -> crate::Result<i32> {
        schema
            .parameter(Self::SCALE_PARAMETER)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                crate::ConnectError::data("Invalid Decimal schema: scale parameter not found.")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_logical_schemas() {
        assert_eq!(
            LogicalType::decimal(2).logical_type(),
            Some(LogicalType::Decimal)
        );
        assert_eq!(
            LogicalType::Date.schema().logical_type(),
            Some(LogicalType::Date)
        );
        assert_eq!(
            LogicalType::decimal_scale(&LogicalType::decimal(4)).unwrap(),
            4
        );
        let wrong = SchemaBuilder::new(SchemaType::String)
            .name(LogicalType::DATE_NAME)
            .build();
        assert_eq!(wrong.logical_type(), None);
    }
}
